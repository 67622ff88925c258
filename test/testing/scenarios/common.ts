import type { Transport } from '../support.js';

/** A list like the library provisions: an indexed, unique, required TwentyId; a short text; an indexed number. */
export const TWENTY_LIST = {
  displayName: 'Companies',
  columns: [
    { name: 'TwentyId', text: { maxLength: 36 }, indexed: true, enforceUniqueValues: true, required: true },
    { name: 'Code', text: { maxLength: 10 } },
    { name: 'Size', number: { decimalPlaces: 'none' }, indexed: true },
  ],
  list: { template: 'genericList' },
};

export const q = (filter: string) => encodeURIComponent(filter);

/**
 * Each describe walks one emulator's state: later tests use the lists, items, budget and clock that earlier
 * ones left. They keep their order under --sequence.shuffle (files and describes still shuffle).
 */
export const ORDERED = { shuffle: false };

export type Scenario = (transport: Transport) => void;

// The suite's embedded server is the one the package offers its users (typeorm-sharepoint/testing).
export { startEmbeddedPostgres } from '../../src/testing/postgres.js';

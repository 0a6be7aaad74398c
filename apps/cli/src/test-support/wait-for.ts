// One waitFor for every test (issue #21): @farol/test-support.
export { waitFor } from '@farol/test-support';

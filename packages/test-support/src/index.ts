/**
 * @farol/test-support: what the tests of every app and package share (issue #21): one `waitFor`
 * and one HTTP fake hub. Dev only: nothing under src/ of an app imports it outside tests.
 */
export { waitFor } from './wait-for.js';
export { startFakeHub, type FakeHub, type FakeHubOptions, type RecordedRequest, type Reply, type ReplyValue } from './fake-hub.js';

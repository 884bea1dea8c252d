/** Mocha root hooks: every loopback server a spec file started is closed after it. */
import { closeAll } from './server.js';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await closeAll();
  },
};

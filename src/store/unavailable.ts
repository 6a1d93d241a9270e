/**
 * The shared store cannot be reached: what needed it is not done, and the person hears so in
 * one line ("the store is down: …"), never a stack trace. Thrown by the PostgreSQL stores for
 * connection failures (a statement PostgreSQL refuses is another error); the pipeline turns it
 * into the turn's answer. The stores reconnect by themselves, so the next command may work.
 */
export class StoreUnavailable extends Error {
  constructor(what: string, why: string, options?: { cause?: unknown }) {
    super(`the store is down: ${what} (${why})`, options);
    this.name = 'StoreUnavailable';
  }
}

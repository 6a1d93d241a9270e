/**
 * A tiny middleware composer in the style of grammY/Koa: each stage gets the turn and a `next`
 * that runs the rest of the chain. A stage that does not call `next` ends the turn there.
 */
export type Next = () => Promise<void>;
export type Middleware<T> = (turn: T, next: Next) => Promise<void>;

export function compose<T>(stages: Middleware<T>[]): (turn: T) => Promise<void> {
  return (turn: T) => {
    const run = (index: number): Promise<void> => {
      const stage = stages[index];
      if (!stage) return Promise.resolve();
      let called = false;
      return stage(turn, () => {
        if (called) return Promise.reject(new Error(`pipeline stage ${index} called next() twice`));
        called = true;
        return run(index + 1);
      });
    };
    return run(0);
  };
}

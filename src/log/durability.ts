// What "acknowledged means durable" means for a log (ARCHITECTURE §8).

export const DURABILITIES = ['process', 'fsync'] as const;

/** `process`: a commit survives kill -9 (WAL, no fsync); `fsync`: it survives power loss too. */
export type Durability = (typeof DURABILITIES)[number];

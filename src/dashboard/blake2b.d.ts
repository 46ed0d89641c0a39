/** Types of blake2b.js for the TypeScript tests that import it. */
export declare function blake2b(input: Uint8Array, outlen?: number): Uint8Array

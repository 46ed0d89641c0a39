/**
 * Names of the background processes a Pool API process reports (`/health` `onchain_runtime.processes`,
 * the monitor summary). Clients read them: a name never changes.
 */

/** The background jobs (lease expiry, signature purge, tempo refresh, window and epoch close, retention). */
export const EPOCH_CLOSER = 'epoch-closer'

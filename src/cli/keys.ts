/** `sotapool keygen` and `sotapool sign`: make a hotkey and the headers a signed request needs. */
import type { Command } from 'commander'
import { parseInteger } from './common.ts'

export function registerKeyCommands(program: Command): void {
  program
    .command('keygen')
    .description('Generate a new sr25519 hotkey: prints its mnemonic and SS58 address (prefix 42)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { generateMnemonic, keyFromSecret } = await import('../crypto/keys.ts')
      const mnemonic = await generateMnemonic()
      const key = await keyFromSecret(mnemonic)
      const publicKey = `0x${Buffer.from(key.publicKey).toString('hex')}`
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify({ mnemonic, address: key.address, public_key: publicKey }, null, 2)}\n`)
      } else {
        process.stdout.write(`mnemonic:   ${mnemonic}\naddress:    ${key.address}\npublic key: ${publicKey}\n`)
        process.stderr.write('Keep the mnemonic secret; anyone holding it controls this hotkey.\n')
      }
    })

  program
    .command('sign')
    .description('Print the X-Key, X-Timestamp and X-Signature headers of a signed request')
    .option('--mnemonic <phrase>', 'mnemonic or secret URI of the hotkey (or set SOTAPOOL_MNEMONIC)')
    .option('--recipient <ss58>', 'sign a recipient-coldkey update for this recipient instead of auth:{ts}')
    .option('--timestamp <unix-seconds>', 'timestamp to sign (default: now)', parseInteger('--timestamp'))
    .option('--json', 'print JSON instead of header lines')
    .action(async (opts: { mnemonic?: string; recipient?: string; timestamp?: number; json?: boolean }) => {
      const secret = opts.mnemonic ?? process.env.SOTAPOOL_MNEMONIC
      if (secret === undefined || secret.trim() === '') throw new Error('give --mnemonic or set SOTAPOOL_MNEMONIC')
      const { keyFromSecret, signedHeaders } = await import('../crypto/keys.ts')
      const { decodeHotkey } = await import('../crypto/sr25519.ts')
      const recipient = opts.recipient === undefined ? undefined : decodeHotkey(opts.recipient.trim())
      if (recipient !== undefined && 'error' in recipient) {
        throw new Error(
          recipient.canonical === undefined
            ? '--recipient must be an SS58 address (prefix 42)'
            : `--recipient: ${recipient.error}`,
        )
      }
      const key = await keyFromSecret(secret)
      const headers = signedHeaders(key, opts.timestamp ?? Math.floor(Date.now() / 1000), opts.recipient)
      process.stdout.write(
        opts.json === true
          ? `${JSON.stringify(headers, null, 2)}\n`
          : `${Object.entries(headers)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n')}\n`,
      )
    })
}

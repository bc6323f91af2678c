// A typed example: `npm run typecheck` checks it (strict), and test/docs.test.js compiles it into
// build/examples/pubsub.mjs and runs that.
import { Broker, connect, type Message, type Subscription, FlumeError } from 'flume'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

async function collect(sub: Subscription, n: number): Promise<Message[]> {
  const out: Message[] = []
  for await (const m of sub) {
    out.push(m)
    if (out.length === n) break
  }
  return out
}

const broker: Broker = await Broker.start({ dataDir: mkdtempSync(join(tmpdir(), 'flume-')) })
const client = await connect(broker.url, { ca: broker.certificatePath, keepAlive: null })
const sub = await client.subscribe('typed.>', { overflow: 'drop-newest', queueLimit: 1000 })
const took: boolean = client.publish('typed.a', Buffer.from('hi'))
client.publish('typed.b', new TextEncoder().encode('there'))
const got = await collect(sub, 2)
console.log(took, got.map((m) => `${m.subject}=${m.string()}`).join(' '))
const ended: void | FlumeError = await sub.closed
console.log(ended === undefined)
await client.close()
await broker.stop()

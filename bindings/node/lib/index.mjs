// The ES module face of lib/index.js (one implementation, so `import` and `require` in the same
// process share one addon and one set of classes: instanceof works across both).
import { createRequire } from 'node:module'

const flume = createRequire(import.meta.url)('./index.js')

export const {
  connect,
  Broker,
  Client,
  Subscription,
  Message,
  Gap,
  FlumeError,
  ConnectionError,
  TLSError,
  ProtocolError,
  FrameError,
  TimeoutError,
  InvalidArgument,
  InvalidSubject,
  InvalidPattern,
  PayloadTooLarge,
  ClosedError,
  validateSubject,
  validatePattern,
  patternMatches,
  codec,
  version,
  versionNumber,
  maxSubjectLength,
} = flume
export default flume

// The HTTP front and the hand-written crypto live in modules of their own so `mms-agent serve` can use
// them without the stores; every file of the server sees them as before.
@_exported import MMSCrypto
@_exported import MonitorHTTP

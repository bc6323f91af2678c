package flume

// Sentinels lists every sentinel error, for the tests.
func Sentinels() []*Error { return sentinels }

package store
func rollupHelper(dir string, block func()) error { return nil }

package testenv

// T is the part of testing.TB the fixtures use. *testing.T satisfies it;
// so does Session, which lets `make demo` start the same real parts outside
// a test.
type T interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
	Failed() bool
}

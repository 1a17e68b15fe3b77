// Package safefile is the one way latch reads files from a repository
// checkout and the one way it replaces a file on disk.
//
// A repository is written by whoever can commit to it, so everything latch
// reads from one (manifests, latch.yaml, and later rollout records and
// templates) goes through Root.ReadFile: the path, with every symlink
// resolved, must stay inside the checkout; only a regular file is read (a
// FIFO or /dev/zero would block or never end); and the file must fit under
// a size cap, checked before reading. Errors name the file as asked and say
// why it was refused; they never carry the file's content, nor where a
// symlink pointed outside.
//
// WriteFile (and Replace with SyncDir for many files) replaces a file so
// that a reader, or a restart after a crash, sees the old content or the new,
// never a half-written file: a temporary file in the same folder, synced,
// renamed over the original, and the folder synced.
//
// This package imports nothing of latch's.
package safefile

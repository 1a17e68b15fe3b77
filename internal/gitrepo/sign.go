package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// SignFormat is how commits are signed.
type SignFormat string

const (
	// SignSSH signs with an SSH key (git's gpg.format=ssh, ssh-keygen -Y sign).
	SignSSH SignFormat = "ssh"
	// SignOpenPGP signs with an OpenPGP key through gpg, in a GNUPGHOME of
	// latch's own (never the user's keyring).
	SignOpenPGP SignFormat = "openpgp"
)

// Signer says how to sign latch's commits.
type Signer struct {
	Format SignFormat
	// KeyPath is the private key file: an unencrypted OpenSSH private key
	// for SignSSH, an ASCII-armored OpenPGP secret key without passphrase
	// for SignOpenPGP (both usually mounted from a Kubernetes Secret).
	KeyPath string
}

// String names the signer without key material.
func (s Signer) String() string { return fmt.Sprintf("%s key %s", s.Format, s.KeyPath) }

// signerState is what a Signer adds to every git command.
type signerState struct {
	env       []string
	config    []configPair
	gnupgHome string // set while a GNUPGHOME of latch's exists
}

// UseSigner makes every later commit signed with s. The key is copied
// (SSH) or imported (OpenPGP) into latch's private folder; the settings
// reach git per command, never through a config file.
func (r *Repo) UseSigner(ctx context.Context, s Signer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key, err := os.ReadFile(s.KeyPath)
	if err != nil {
		return fmt.Errorf("signing key %s: %w", s.KeyPath, errors.Unwrap(err))
	}
	if err := r.signer.close(); err != nil {
		return err
	}
	r.signer = signerState{}
	var state signerState
	switch s.Format {
	case SignSSH:
		keyCopy := filepath.Join(r.private, "signing-key")
		if err := os.WriteFile(keyCopy, key, 0o600); err != nil {
			return fmt.Errorf("signing key %s: copying: %w", s.KeyPath, err)
		}
		state.config = []configPair{
			{"gpg.format", "ssh"},
			{"gpg.ssh.program", "ssh-keygen"},
			{"user.signingKey", keyCopy},
			{"commit.gpgSign", "true"},
		}
	case SignOpenPGP:
		home := filepath.Join(r.private, "gnupg")
		if err := os.Mkdir(home, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("signing key %s: GNUPGHOME: %w", s.KeyPath, err)
		}
		state.gnupgHome = home
		if _, err := gpg(ctx, home, key, "--import"); err != nil {
			state.close()
			return fmt.Errorf("signing key %s: importing: %w", s.KeyPath, err)
		}
		listing, err := gpg(ctx, home, nil, "--with-colons", "--list-secret-keys")
		if err != nil {
			state.close()
			return fmt.Errorf("signing key %s: listing: %w", s.KeyPath, err)
		}
		fpr := firstSecretFingerprint(listing)
		if fpr == "" {
			state.close()
			return fmt.Errorf("signing key %s: no secret key in the file (export it with gpg --armor --export-secret-keys)", s.KeyPath)
		}
		state.env = []string{"GNUPGHOME=" + home}
		state.config = []configPair{
			{"gpg.format", "openpgp"},
			{"gpg.program", "gpg"},
			{"user.signingKey", fpr},
			{"commit.gpgSign", "true"},
		}
	default:
		return fmt.Errorf("signer: unknown format %q (want %q or %q)", s.Format, SignSSH, SignOpenPGP)
	}
	r.signer = state
	r.rebuildRunner()
	return nil
}

// firstSecretFingerprint reads `gpg --with-colons --list-secret-keys`: the
// fpr record right after the first sec record is the primary key's.
func firstSecretFingerprint(listing string) string {
	afterSec := false
	for _, line := range strings.Split(listing, "\n") {
		fields := strings.Split(line, ":")
		switch {
		case fields[0] == "sec":
			afterSec = true
		case fields[0] == "fpr" && afterSec && len(fields) > 9:
			return fields[9]
		}
	}
	return ""
}

// gpg runs gpg in batch mode against home. Output is kept out of errors
// beyond gpg's own stderr, which never holds secret key material.
func gpg(ctx context.Context, home string, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "gpg", append([]string{"--batch", "--no-tty", "--homedir", home}, args...)...)
	cmd.Env = append(baseEnv(), "GNUPGHOME="+home)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gpg %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// close stops the gpg-agent gpg started for latch's GNUPGHOME.
func (s *signerState) close() error {
	if s.gnupgHome == "" {
		return nil
	}
	home := s.gnupgHome
	s.gnupgHome = ""
	cmd := exec.Command("gpgconf", "--homedir", home, "--kill", "all")
	cmd.Env = append(baseEnv(), "GNUPGHOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("stopping gpg-agent of %s: %v: %s", home, err, strings.TrimSpace(string(out)))
	}
	return nil
}

#pragma once
// Stop requests: SIGTERM, SIGINT and SIGUSR1 (what Slurm sends ahead of a time limit, e.g.
// `--signal=B:USR1@120`) set a flag; the training loop polls it collectively, checkpoints at
// the next safe step and ends the run cleanly. The handler only stores the signal number.
namespace olsgd {

// Installs the handlers (idempotent).
void install_stop_signals();
// The stop signal received so far on this process, or 0.
int stop_signal();
// Forgets a received signal (for tests running several trainings in one process).
void clear_stop_signal();
// "SIGTERM", "SIGINT", "SIGUSR1", ... for messages.
const char* signal_name(int signal);

}  // namespace olsgd

#include <olsgd/core/signals.hpp>

#include <csignal>

namespace olsgd {
namespace {
volatile std::sig_atomic_t received = 0;

extern "C" void on_stop_signal(int signal) {
  received = signal;
}
}  // namespace

void install_stop_signals() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a signal must not fail an MPI call or a read in progress
  // SIGINT (Ctrl-C, kill -INT) asks for the same clean stop as SIGTERM; a second one does not
  // force it (SIGQUIT or SIGKILL do). mpirun itself turns a SIGINT into SIGTERM for the ranks.
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

int stop_signal() {
  return received;
}

void clear_stop_signal() {
  received = 0;
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "a stop signal";
  }
}

}  // namespace olsgd

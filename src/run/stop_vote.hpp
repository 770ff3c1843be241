#pragma once
// The collective stop vote: a stop signal (SIGTERM, SIGINT, SIGUSR1) received by any rank
// stops every rank at the same step. The ranks agree on it without a blocking collective,
// which would line all ranks up every checkpoint.signal_every steps (and make a local or
// overlapped method wait for a straggler there): each check consumes the flags posted at
// the previous one and posts its own, so a signal stops the run within two checks.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/comm/request.hpp>
#include <olsgd/core/types.hpp>

namespace olsgd::run {

class StopVote {
 public:
  // Installs the stop signal handlers. A run resumed at step `first` with fewer than
  // 2 x signal_every of its `steps` left checks more often, so a signal still stops it
  // (every rank has the same `first`).
  StopVote(comm::Communicator& comm, Index signal_every, Index first, Index steps);
  StopVote(const StopVote&) = delete;
  StopVote& operator=(const StopVote&) = delete;

  // Called on every rank after each step, with the steps done (collective at the steps that
  // check). The signal the ranks agreed to stop on, to stop after this step; else 0.
  int poll(Index done);

 private:
  comm::Communicator& comm_;
  Index check_every_;
  int flag_ = 0;           // the highest stop signal any rank had at the last check
  comm::Request pending_;  // that check's reduction, in flight (declared after its buffer)
};

}  // namespace olsgd::run

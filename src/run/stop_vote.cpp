#include "stop_vote.hpp"

#include <olsgd/core/signals.hpp>

#include <algorithm>

namespace olsgd::run {

StopVote::StopVote(comm::Communicator& comm, Index signal_every, Index first, Index steps)
    : comm_(comm),
      check_every_(std::max<Index>(1, std::min<Index>(signal_every, (steps - first) / 2))) {
  install_stop_signals();
}

int StopVote::poll(Index done) {
  if (done % check_every_ != 0) return 0;
  pending_.wait();
  if (flag_ != 0) return flag_;
  flag_ = stop_signal();
  pending_ = comm_.imax_uncounted(flag_);
  return 0;
}

}  // namespace olsgd::run

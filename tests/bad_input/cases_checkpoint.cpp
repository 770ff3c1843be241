// Bad-input cases: checkpoint.
#include "bad_input.hpp"

namespace olsgd::bad_input {

std::vector<Case> checkpoint_cases() {
  return {};
}

}  // namespace olsgd::bad_input

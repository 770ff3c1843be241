// Bad-input cases: output.
#include "bad_input.hpp"

namespace olsgd::bad_input {

std::vector<Case> output_cases() {
  return {};
}

}  // namespace olsgd::bad_input

// Bad-input cases: data.
#include "bad_input.hpp"

namespace olsgd::bad_input {

std::vector<Case> data_cases() {
  return {};
}

}  // namespace olsgd::bad_input

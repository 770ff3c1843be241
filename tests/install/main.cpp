// Uses the installed headers and library: parses a deck and prints a key back.
#include <olsgd/deck/deck.hpp>

#include <cstdio>

int main() {
  const olsgd::Config c = olsgd::parse_config("algorithm:\n  tau: 6\n", "consumer", {}, 1);
  std::printf("consumer: algorithm.tau=%lld\n", static_cast<long long>(c.algorithm.tau));
  return c.algorithm.tau == 6 ? 0 : 1;
}

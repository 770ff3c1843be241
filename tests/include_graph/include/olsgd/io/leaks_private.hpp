#pragma once
// Wrong on purpose: a public header includes a private one (src/), not installed.
#include "comm/watchdog.hpp"

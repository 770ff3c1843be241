#pragma once
// Wrong on purpose: core reaches up to the run layer.
#include <olsgd/run/trainer.hpp>

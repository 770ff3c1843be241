#pragma once
// A private header (under src/) for leaks_private.hpp to include.

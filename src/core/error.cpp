#include <olsgd/core/error.hpp>

#include <cstdio>

namespace olsgd {
namespace {

// The length of the valid UTF-8 sequence at s[i] that is neither a C0 nor a C1 control, or 0.
std::size_t printable_sequence(const std::string& s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  if (b >= 0x20 && b < 0x7f) return 1;
  std::size_t n = 0;
  unsigned int cp = 0, min = 0;
  if ((b & 0xe0) == 0xc0) {
    n = 2, cp = b & 0x1fu, min = 0x80;
  } else if ((b & 0xf0) == 0xe0) {
    n = 3, cp = b & 0x0fu, min = 0x800;
  } else if ((b & 0xf8) == 0xf0) {
    n = 4, cp = b & 0x07u, min = 0x10000;
  } else {
    return 0;  // a control, DEL, or a continuation byte out of place
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3fu);
  }
  const bool overlong = cp < min, surrogate = cp >= 0xd800 && cp <= 0xdfff;
  const bool c1 = cp >= 0x80 && cp <= 0x9f;
  return overlong || surrogate || c1 || cp > 0x10ffff ? 0 : n;
}

}  // namespace

std::string plural(long long n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t n = printable_sequence(text, i)) {
      out.append(text, i, n);
      i += n;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(text[i]));
      out += hex;
      ++i;
    }
  }
  return out;
}

}  // namespace olsgd

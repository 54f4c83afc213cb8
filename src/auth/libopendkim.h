// libopendkim's <dkim.h> made includable from C++. The header already wraps itself in
// extern "C", but its prototypes use C99's `_Bool`, which is no C++ keyword; `bool` has the same
// size and ABI on every platform libopendkim supports, so it stands in while the header is read.
// Include this file, never <dkim.h> directly, so the workaround lives in one place.
#pragma once

#ifdef _Bool
#  include <dkim.h>
#else
#  define _Bool bool
#  include <dkim.h>
#  undef _Bool
#endif

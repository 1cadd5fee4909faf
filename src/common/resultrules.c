#include "resultrules.h"

#include "pbcheck.h"

#include <math.h>
#include <stdint.h>

const char *wn_result_key_check(const char *key, size_t len)
{
	if (len == 0)
		return "a key is empty";
	if (len > WN_RESULT_KEY_MAX)
		return "a key is longer than 64 bytes";
	unsigned char c0 = (unsigned char)key[0];
	if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || c0 == '_'))
		return "a key starts with a letter or '_'";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == '/';
		if (!ok)
			return "a key holds only letters, digits and \"_.-/\"";
	}
	return NULL;
}

const char *wn_result_text_check(const char *s, size_t len)
{
	if (len > WN_RESULT_TEXT_MAX)
		return "a text is longer than 256 bytes";
	if (wn_pb_utf8_check((const uint8_t *)s, len) >= 0)
		return "a text is not valid UTF-8";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* C0, DEL, and C1 (U+0080 to U+009F: 0xc2 0x80 to 0xc2 0x9f) */
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f))
			return "a text holds a control character";
	}
	return NULL;
}

const char *wn_result_number_check(double v)
{
	return isfinite(v) ? NULL : "a number is not finite (NaN or infinity)";
}

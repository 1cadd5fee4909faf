/* log: one line per event on stderr, with time and level. */
#ifndef WN_LOG_H
#define WN_LOG_H

enum wn_log_level { WN_LOG_ERROR = 0, WN_LOG_WARN, WN_LOG_INFO, WN_LOG_DEBUG };

/* wn_log_set_level sets the most verbose level that is printed. */
void wn_log_set_level(int level);
/* wn_log_get_level returns the current level. */
int wn_log_get_level(void);
/* wn_log_parse_level maps "error", "warn", "info", "debug" to a level, -1 if unknown. */
int wn_log_parse_level(const char *s);
/* wn_log_set_prefix names the program in each line ("wnd"). */
void wn_log_set_prefix(const char *prefix);
/* wn_log prints one formatted line at the given level. */
void wn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wn_error(...) wn_log(WN_LOG_ERROR, __VA_ARGS__)
#define wn_warn(...)  wn_log(WN_LOG_WARN, __VA_ARGS__)
#define wn_info(...)  wn_log(WN_LOG_INFO, __VA_ARGS__)
#define wn_debug(...) wn_log(WN_LOG_DEBUG, __VA_ARGS__)

#endif

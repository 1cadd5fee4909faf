# The dashboard's files as a browser, a cache or a proxy in front of wnd
# asks for them (docs/dashboard.md): their ETag, and If-None-Match.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# status_with URL [curl args...]: the HTTP status of a GET of URL.
status_with() {
	local url=$1
	shift
	: >body
	curl -s -o body -w '%{http_code}' "$@" "$url"
}

# If-None-Match is a list of tags, compared weakly (RFC 9110): a proxy that
# compresses the file (nginx) sends the tag back weak, W/"...", and a
# browser may send several; each was answered the whole file again.
test_if_none_match_takes_weak_tags_and_lists() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local tag
	tag=$(curl -s -D - -o /dev/null "$WN_HTTP/" | tr -d '\r' | sed -n 's/^ETag: //p')
	[[ $tag =~ ^\"[0-9a-f]+\"$ ]] || fail "the ETag of /: '$tag'"
	expect_eq "$(status_with "$WN_HTTP/" -H "If-None-Match: $tag")" 304 "the tag itself"
	expect_eq "$(wc -c <body)" 0 "the body of a 304"
	expect_eq "$(status_with "$WN_HTTP/" -H "If-None-Match: W/$tag")" 304 "the tag made weak"
	expect_eq "$(status_with "$WN_HTTP/" -H "If-None-Match: \"0\", W/\"1\",$tag")" 304 \
		"the tag last of a list"
	expect_eq "$(status_with "$WN_HTTP/" -H 'If-None-Match: *')" 304 "*"
	expect_eq "$(status_with "$WN_HTTP/index.html" -H "If-None-Match: $tag")" 304 \
		"/index.html, the same file"
	# another file's tag, another tag, or what is no tag: the file itself
	local other
	for other in '"0"' 'W/"0", "1"' "${tag//\"/}" "\"x$tag" ''; do
		expect_eq "$(status_with "$WN_HTTP/" -H "If-None-Match: $other")" 200 \
			"If-None-Match: $other"
		expect_contains "$(<body)" "<html" "the file for If-None-Match: $other"
	done
	expect_eq "$(status_with "$WN_HTTP/style.css" -H "If-None-Match: $tag")" 200 \
		"another file with the tag of /"
}

# A 304 named "Content-Length: 0", which RFC 9110 (8.6) forbids: a cache
# that takes the fields of a 304 into the response it keeps could make the
# file empty. It names the file's length, or none; the reply after it on
# the connection is read whole.
test_a_304_names_the_length_of_the_file() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local tag len r
	tag=$(curl -s -D - -o /dev/null "$WN_HTTP/style.css" | tr -d '\r' | sed -n 's/^ETag: //p')
	len=$(curl -s "$WN_HTTP/style.css" | wc -c)
	r=$(printf "GET /style.css HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: $tag\r\n\r\nGET /favicon.svg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 304 Not Modified" "$r"
	expect_eq "$(sed '/^\r$/q' <<<"$r" | tr -d '\r' | sed -n 's/^Content-Length: //p')" "$len" \
		"the Content-Length of the 304"
	expect_eq "$(grep -c '^HTTP/1.1 200 OK' <<<"$r")" 1 "the reply after the 304: $r"
	expect_contains "$r" "</svg>"
}

# If-Match was not looked at: a client that wants a file only as it knows
# it (RFC 9110 13.1.1) got another one. A tag it does not name, or a weak
# one (If-Match compares strongly), is answered 412 without the file.
test_if_match_names_the_file_or_it_is_412() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local tag
	tag=$(curl -s -D - -o /dev/null "$WN_HTTP/style.css" | tr -d '\r' | sed -n 's/^ETag: //p')
	expect_eq "$(status_with "$WN_HTTP/style.css" -H "If-Match: $tag")" 200 "its own tag"
	expect_eq "$(status_with "$WN_HTTP/style.css" -H "If-Match: \"0\", $tag")" 200 "in a list"
	expect_eq "$(status_with "$WN_HTTP/style.css" -H 'If-Match: *')" 200 "*"
	local other
	for other in '"0"' "W/$tag" "${tag//\"/}"; do
		expect_eq "$(status_with "$WN_HTTP/style.css" -H "If-Match: $other")" 412 \
			"If-Match: $other"
		expect_contains "$(<body)" "the file is not the one If-Match names"
	done
}

# OPTIONS on a dashboard file or /metrics was answered 405, where the API's
# paths answer 204 with the verbs served, and a CORS preflight of an origin
# of http_cors_origins with what it may send: a page of that origin could
# not ask. Another origin's preflight is refused 403, as on the API's paths.
test_options_on_the_dashboard_and_metrics() {
	cat >wnd.yaml <<'YAML'
http_cors_origins: [https://app.example.org]
YAML
	wn_start --config wnd.yaml --http 127.0.0.1:0
	wn_http_url
	local p
	for p in / /index.html /style.css /metrics; do
		expect_eq "$(status_with "$WN_HTTP$p" -X OPTIONS -D hdrs)" 204 "OPTIONS $p"
		expect_contains "$(tr -d '\r' <hdrs)" "Allow: GET, HEAD, OPTIONS" "OPTIONS $p"
		expect_not_contains "$(<hdrs)" "Access-Control-Allow-Origin" "OPTIONS $p"
		expect_eq "$(wc -c <body)" 0 "the body of OPTIONS $p"
		expect_eq "$(status_with "$WN_HTTP$p" -X OPTIONS -D hdrs \
			-H 'Origin: https://app.example.org' -H 'Access-Control-Request-Method: GET' \
			-H 'Access-Control-Request-Headers: authorization, range')" 204 "preflight of $p"
		expect_contains "$(tr -d '\r' <hdrs)" \
			"Access-Control-Allow-Origin: https://app.example.org" "preflight of $p"
		expect_contains "$(tr -d '\r' <hdrs)" "Access-Control-Allow-Methods: GET, HEAD, OPTIONS"
		expect_contains "$(tr -d '\r' <hdrs)" "Authorization, If-Match, If-None-Match, If-Range, Range"
		expect_eq "$(status_with "$WN_HTTP$p" -X OPTIONS -D hdrs \
			-H 'Origin: https://evil.example.net' -H 'Access-Control-Request-Method: GET')" 403 \
			"another origin's preflight of $p"
		expect_not_contains "$(<hdrs)" "Access-Control-Allow-Origin"
	done
	# the GET that follows the preflight may be read by that page
	expect_eq "$(status_with "$WN_HTTP/metrics" -D hdrs -H 'Origin: https://app.example.org')" 200
	expect_contains "$(tr -d '\r' <hdrs)" "Access-Control-Allow-Origin: https://app.example.org"
	expect_eq "$(status_with "$WN_HTTP/metrics" -D hdrs -H 'Origin: https://evil.example.net')" 200
	expect_not_contains "$(<hdrs)" "Access-Control-Allow-Origin"
	expect_eq "$(status_with "$WN_HTTP/nothing-here" -X OPTIONS)" 404 "OPTIONS of no page"
	expect_eq "$(status_with "$WN_HTTP/style.css" -X DELETE -D hdrs)" 405 "DELETE"
	expect_contains "$(tr -d '\r' <hdrs)" "Allow: GET, HEAD, OPTIONS"
}

# A Range was ignored: the whole file came with 200 (RFC 9110 14). One range
# is served 206 with its Content-Range, a range of no byte 416 naming the
# length, a HEAD or a list of ranges gets the whole file, and a Range whose
# If-Range is not the file's own tag the whole file too; every reply says
# Accept-Ranges: bytes.
test_a_range_of_a_file_is_served() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local url=$WN_HTTP/style.css whole len tag
	curl -s -o whole.css "$url"
	len=$(wc -c <whole.css)
	tag=$(curl -s -D - -o /dev/null "$url" | tr -d '\r' | sed -n 's/^ETag: //p')
	expect_eq "$(status_with "$url" -D hdrs -H 'Range: bytes=10-19')" 206 "bytes=10-19"
	expect_eq "$(<body)" "$(head -c 20 whole.css | tail -c 10)" "the bytes 10 to 19"
	expect_contains "$(tr -d '\r' <hdrs)" "Content-Range: bytes 10-19/$len"
	expect_contains "$(tr -d '\r' <hdrs)" "Accept-Ranges: bytes"
	expect_eq "$(status_with "$url" -D hdrs -H 'Range: bytes=-7')" 206 "the last 7"
	expect_eq "$(<body)" "$(tail -c 7 whole.css)"
	expect_contains "$(tr -d '\r' <hdrs)" "Content-Range: bytes $((len - 7))-$((len - 1))/$len"
	expect_eq "$(status_with "$url" -H "Range: bytes=$((len - 3))-99999999999999999999999")" 206
	expect_eq "$(<body)" "$(tail -c 3 whole.css)" "a last byte past the end"
	# curl -C - resumes a file cut short
	head -c 100 whole.css >part.css
	curl -s -C - -o part.css "$url"
	cmp part.css whole.css || fail "the resumed file differs"
	# no byte of the file: 416, the length named
	local r
	for r in "bytes=$len-" 'bytes=99999999999999999999999-' 'bytes=-0'; do
		expect_eq "$(status_with "$url" -D hdrs -H "Range: $r")" 416 "Range: $r"
		expect_contains "$(tr -d '\r' <hdrs)" "Content-Range: bytes */$len" "Range: $r"
	done
	# ignored (RFC 9110): another unit, bad syntax; several ranges are served whole
	for r in 'items=0-1' 'bytes=5-2' 'bytes=a-b' 'bytes=--1' 'bytes 0-1' 'bytes=0-1,3-4' \
		'bytes=0-1,-1' 'bytes=1-2-3'; do
		expect_eq "$(status_with "$url" -H "Range: $r")" 200 "Range: $r"
		cmp -s body whole.css || fail "the whole file for Range: $r"
	done
	# If-Range: the file's own tag lets the range be served, another tag,
	# a weak one or a date (the file has no Last-Modified) gets the file
	expect_eq "$(status_with "$url" -H 'Range: bytes=0-3' -H "If-Range: $tag")" 206 "If-Range: $tag"
	for r in '"0"' "W/$tag" 'Sat, 01 Jan 2000 00:00:00 GMT'; do
		expect_eq "$(status_with "$url" -H 'Range: bytes=0-3' -H "If-Range: $r")" 200 \
			"If-Range: $r"
		cmp -s body whole.css || fail "the whole file for If-Range: $r"
	done
	# a HEAD's Range is ignored: the head of the whole file
	curl -s -I -H 'Range: bytes=0-3' "$url" | tr -d '\r' >hdrs
	expect_contains "$(head -1 hdrs)" 200 "HEAD with a Range"
	expect_contains "$(<hdrs)" "Content-Length: $len"
	expect_contains "$(<hdrs)" "Accept-Ranges: bytes"
	# a 416 and a 206 leave the connection as it was: the reply after each is read whole
	local out
	out=$(printf "GET /style.css HTTP/1.1\r\nHost: localhost\r\nRange: bytes=-0\r\n\r\nGET /style.css HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-4\r\n\r\nGET /favicon.svg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" | hraw)
	expect_eq "$(grep -o '^HTTP/1.1 [0-9]*\|}HTTP/1.1 [0-9]*\|[^/]HTTP/1.1 [0-9]*' <<<"$out" |
		grep -o '[0-9]*$' | tr '\n' ' ')" "416 206 200 " "$out"
	expect_contains "$out" "</svg>"
}

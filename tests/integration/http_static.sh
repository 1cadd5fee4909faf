# The dashboard's files as a browser, a cache or a proxy in front of wnd
# asks for them (docs/dashboard.md): their ETag, and If-None-Match.
source "$(dirname "${BASH_SOURCE[0]}")/server_lib.sh"

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
		expect_contains "$(cat body)" "<html" "the file for If-None-Match: $other"
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
		expect_contains "$(cat body)" "the file is not the one If-Match names"
	done
}

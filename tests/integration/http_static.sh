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

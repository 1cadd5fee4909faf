# The user documentation against the programs it describes, without a
# server: every option of each program's --help is in its page and every
# option the page names is in --help (wnctl: docs/cli.md, section by section;
# wnd: docs/server.md; wnworker: docs/worker.md); every `wnctl ...` line of
# the pages' examples names a command that exists and options it takes, and
# every `wnd ...` and `wnworker ...` line options they take (a line shown with
# the error it gets is left out: it may be a mistake on purpose); every
# link between the pages reaches a file, and a section that is there.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# docs_check WHAT: run the check WHAT of the Python below; its findings, one a
# line, on stdout; exit 1 with findings.
docs_check() {
	python3 - "$1" "$REPO" "$WN_BIN" <<'EOF'
import json, os, re, shlex, subprocess, sys

what, repo, bindir = sys.argv[1:4]
os.chdir(repo)
found = []

def run(*argv):
    return subprocess.run([os.path.join(bindir, argv[0])] + list(argv[1:]),
                          capture_output=True, text=True).stdout

def sections(path):
    """[(heading, text)] of PATH: each heading with the text up to the next one."""
    out, fence = [], False
    for line in open(path):
        if line.startswith('```'):
            fence = not fence
        if not fence and re.match(r'#+ ', line):
            out.append((line.strip(), ''))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + line)
    return out

def opts_of(text):
    return set(re.findall(r'(?<![\w-])(--?[a-zA-Z][\w-]*)', text))

def help_opts(lines):
    """The options a --help lists: the words starting its option lines."""
    out = set()
    for line in lines:
        m = re.match(r' {2,8}((?:-\w, )?--?[a-zA-Z][\w-]*)', line)
        if m:
            out |= set(x.strip() for x in m.group(1).split(','))
    return out

def cli_docs():
    """{command or heading: its section's text, its heading last} of docs/cli.md."""
    secs = {}
    for head, text in sections('docs/cli.md'):
        secs[head] = text
        words = head.split()
        if words[0] == '##' and words[1] == 'status':
            secs['status'] = text + head
        elif words[0] == '###' and len(words) > 2 and words[1].islower():
            key = ' '.join(words[1:3])
            secs[key] = secs.get(key, '') + text + head
            m = re.match(r'### (\w+) \w+ \w+, \1 (\w+) ', head)
            if m:
                secs[m.group(1) + ' ' + m.group(2)] = text + head
    return secs

if what == 'cli':
    top = json.loads(run('wnctl', '--json', 'help'))
    secs = cli_docs()
    glob = set()
    for o in top['global_options']:
        glob |= set(x.split()[0] for x in o['option'].split(', '))
    gdoc = opts_of(' '.join(l.split('|')[1] for l in secs['## Global options'].split('\n')
                             if l.startswith('| `')))
    for o in sorted(glob - gdoc):
        found.append(f'global option {o} is not in cli.md, Global options')
    for o in sorted(gdoc - glob):
        found.append(f'cli.md, Global options: {o} is no global option')
    if len(top['commands']) < 50:
        found.append(f"wnctl --json help lists {len(top['commands'])} commands")
    names = set(c['command'] for c in top['commands'])
    nouns = set(n.split()[0] for n in names)
    for key in secs:
        if not key.startswith('#') and key.split()[0] in nouns and key not in names:
            found.append(f'cli.md has a section for {key}, which wnctl --help does not list')
    shared = {'Changing many jobs': ['job cancel', 'job retry', 'job remove',
                                     'job priority', 'job hold', 'job release'],
              'task create': ['task update']}
    for c in top['commands']:
        cmd = c['command']
        text = secs.get(cmd)
        if text is None:
            found.append(f'{cmd}: no section in cli.md')
            continue
        for name, users in shared.items():
            if cmd in users:
                text = next(t for h, t in secs.items() if name in h) + text
        text += secs['## Confirmation']
        h = json.loads(run('wnctl', '--json', *cmd.split(), '--help'))
        have = set()
        for o in h['options']:
            have |= set(x.split()[0] for x in o['option'].split(', ') if x.startswith('-'))
        for o in sorted(have - opts_of(text)):
            found.append(f'{cmd}: its option {o} is not in its cli.md section')
        for o in sorted(opts_of(next(l for l in text.split('\n')[::-1] if l.startswith('##'))) - have - glob):
            found.append(f'{cmd}: cli.md names {o}, which it does not take')

elif what in ('wnd', 'wnworker'):
    page = {'wnd': 'docs/server.md', 'wnworker': 'docs/worker.md'}[what]
    have = help_opts(run(what, '--help').split('\n'))
    table = []
    for line in open(page):
        if line.startswith('| `-'):
            table.append(line.split('|')[1])
        elif table and not line.startswith('|'):
            break
    doc = opts_of(' '.join(table))
    if len(have) < 10 or len(doc) < 10:
        found.append(f'{what}: {len(have)} options in --help, {len(doc)} in {page}')
    for o in sorted(have - doc):
        found.append(f'{what} --help lists {o}, the option table of {page} does not')
    for o in sorted(doc - have):
        found.append(f'{page} lists {o}, which {what} --help does not')

elif what == 'examples':
    top = json.loads(run('wnctl', '--json', 'help'))
    commands = set(c['command'] for c in top['commands'])
    gl = {}
    for o in top['global_options']:
        for x in o['option'].split(', '):
            gl[x.split()[0]] = len(x.split()) > 1
    cache, checked = {}, 0
    pages = ['README.md'] + ['docs/' + p for p in ('cli.md', 'worker.md', 'server.md',
             'results.md', 'resources.md', 'dependencies.md', 'security.md', 'formatters.md')]
    for page in pages:
        fence, prev, lines = False, '', open(page).read().split('\n')
        for n, line in enumerate(lines, 1):
            if line.startswith('```'):
                fence = not fence
                continue
            line = prev + line.strip()
            prev = ''
            if not fence:
                continue
            if line.endswith('\\'):
                prev = line[:-1] + ' '
                continue
            line = re.sub(r'^\$ ', '', line)
            prog = line.split(' ')[0]
            if n < len(lines) and lines[n].startswith(prog + ': '):
                continue  # shown with the error it gets: maybe a mistake on purpose
            if prog in ('wnd', 'wnworker') and not line.startswith(prog + ' ['):
                if prog not in cache:
                    cache[prog] = help_opts(run(prog, '--help').split('\n'))
                for w in shlex.split(line, comments=True):
                    o = w.split('=')[0]
                    if re.match(r'--?[a-zA-Z]', o) and o not in cache[prog]:
                        found.append(f'{page}:{n}: {line}: {prog} takes no {o}')
                continue
            if not line.startswith('wnctl ') or 'NOUN' in line:
                continue
            lex = shlex.shlex(line, posix=True, punctuation_chars=True)
            lex.commenters = '#'
            lex.whitespace_split = True
            words = []
            for w in lex:
                if w and all(ch in ';&|<>()' for ch in w):
                    break
                words.append(w)
            i = 1
            while i < len(words) and words[i].startswith('-'):
                i += 1 + (gl.get(words[i].split('=')[0], False) and '=' not in words[i])
            cmd = ' '.join(words[i:i + 2]) if i + 1 < len(words) else ' '.join(words[i:i + 1])
            if words[i:i + 1] in (['status'],):
                cmd = 'status'
            checked += 1
            if cmd not in commands:
                found.append(f'{page}:{n}: {line}: no command {cmd!r}')
                continue
            if cmd not in cache:
                h = json.loads(run('wnctl', '--json', *cmd.split(), '--help'))
                cache[cmd] = set(x.split()[0] for o in h['options'] for x in o['option'].split(', '))
            for w in words[1:]:
                if w == '--':
                    break
                o = w.split('=')[0]
                if re.match(r'--?[a-zA-Z]', o) and o not in cache[cmd] and o not in gl:
                    found.append(f'{page}:{n}: {line}: {cmd} takes no {o}')
    if checked < 100:
        found.append(f'only {checked} wnctl lines found in the examples')

elif what == 'links':
    def slug(h):
        return ''.join(c for c in h.strip().lower().replace('`', '')
                       if c.isalnum() or c in ' -_').replace(' ', '-')
    pages = ['README.md'] + ['docs/' + p for p in sorted(os.listdir('docs')) if p.endswith('.md')]
    anchors = {}
    for page in pages:
        seen, fence = {}, False
        for line in open(page):
            if line.startswith('```'):
                fence = not fence
            m = not fence and re.match(r'#+ (.*)', line)
            if m:
                s = slug(m.group(1))
                seen[s] = seen.get(s, -1) + 1
                anchors.setdefault(page, set()).add(s if not seen[s] else f'{s}-{seen[s]}')
    for page in pages:
        fence = False
        for n, line in enumerate(open(page), 1):
            if line.startswith('```'):
                fence = not fence
            if fence:
                continue
            for t in re.findall(r'\]\(([^)\s]+)\)', line):
                if re.match(r'[a-z]+:', t):
                    continue
                path, _, frag = t.partition('#')
                target = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                if not os.path.exists(target):
                    found.append(f'{page}:{n}: {t}: no such file')
                elif frag and target.endswith('.md') and frag not in anchors.get(target, ()):
                    found.append(f'{page}:{n}: {t}: no such section')

print('\n'.join(found))
sys.exit(1 if found else 0)
EOF
}

# expect_docs WHAT: the check WHAT finds nothing.
expect_docs() {
	local out rc=0
	out=$(docs_check "$1") || rc=$?
	[ "$rc" = 0 ] || fail "docs ($1): ${out:-the check itself failed}"
}

test_docs_cli_options() { expect_docs cli; }
test_docs_wnd_options() { expect_docs wnd; }
test_docs_wnworker_options() { expect_docs wnworker; }
test_docs_cli_examples() { expect_docs examples; }
test_docs_links() { expect_docs links; }

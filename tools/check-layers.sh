#!/bin/sh
# tools/check-layers.sh: the layering check. Every #include of every .c/.h
# must be allowed by the .may_include of the file's directory, and no
# directory may hold a cycle of includes or calls among its modules.
# POSIX sh and awk only (runs on a bare Debian 12). Run with --help.
set -eu

usage() {
	cat <<'EOF'
usage: tools/check-layers.sh [--help] [ROOT]

Checks the #include lines of every .c and .h file under ROOT (default: the
tree this script belongs to), skipping .git/, build*/ at the top and every
directory named fixtures/.

1. Each file's includes must be allowed by the .may_include of its
   directory, or of the nearest parent directory that has one.
   .may_include format, one rule a line, '#' starts a comment:

     HEADER...               every file of the directory may include these
     FILE...: HEADER...      only these files may (FILE: sh globs, relative
                             to the .may_include, e.g. link.[ch] or *.c)
     module NAME: FILE...    these files are one module (see 2.)

   HEADER is a path from ROOT, with sh globs: common/*.h, hub/queue.h,
   proto/onestop.pb-c.h (headers that protoc-c generates from
   proto/NAME.proto are proto/NAME.pb-c.h), or <name.h> for a header from
   outside the tree (a third-party library).
   Always allowed, without a rule: the headers of a file's own module
   (link.c includes link.h) and the C and POSIX headers (<stdio.h>,
   <sys/*.h>, ...).
   A quoted include is resolved as the compiler does: next to the file
   first, then among the tree's headers of that name (the first one a rule
   allows wins, so "dataset.h" from spoke/ is common/dataset.h).

2. Inside each directory, the modules must not form a cycle. A module is
   NAME.c with NAME.h, unless a "module" rule groups files otherwise. A
   module depends on another when one of its files includes the other's
   header (including a header that declares some of one's own functions
   is no dependency) or calls a function that the other's .c defines
   (comments and strings aside).

Output: one line per violation, then exit 1; exit 0 when clean.
  path:line: includes X, which DIR/.may_include does not allow (rule: ...)
  path:line: cycle in DIR/: a -> b -> a (path:line includes b.h; ...)
EOF
}

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
-*)
	usage >&2
	exit 2
	;;
esac
if [ $# -gt 1 ]; then
	usage >&2
	exit 2
fi
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2

find . \( -path ./.git -o -path './build*' -o -name fixtures \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.proto' \
	-o -name .may_include \) -print |
	sed 's|^\./||' | LC_ALL=C sort |
	awk '
function dirof(p) { return (p ~ /\//) ? substr(p, 1, match(p, /\/[^\/]*$/) - 1) : "." }
function baseof(p) { sub(/.*\//, "", p); return p }
function stemof(p) { p = baseof(p); sub(/\.[ch]$/, "", p); return p }
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

# a path with ./ and ../ taken out
function norm(p,    n, i, k, part, out) {
	n = split(p, part, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (part[i] == "." || part[i] == "")
			continue
		if (part[i] == ".." && k > 0 && out[k] != "..") {
			k--
			continue
		}
		out[++k] = part[i]
	}
	p = ""
	for (i = 1; i <= k; i++)
		p = p (i > 1 ? "/" : "") out[i]
	return p
}

# an sh glob as an anchored regular expression (* and ? stay inside a
# path component)
function glob2re(g,    re, i, c) {
	re = "^"
	for (i = 1; i <= length(g); i++) {
		c = substr(g, i, 1)
		if (c == "*")
			re = re "[^/]*"
		else if (c == "?")
			re = re "[^/]"
		else if (c == "[" || c == "]")
			re = re c
		else if (index("\\.^$+(){}|", c))
			re = re "\\" c
		else
			re = re c
	}
	return re "$"
}

function parse_rules(mf,    dir, line, n, lhs, rhs, f, h, nf2, nh, i, j, ln) {
	dir = dirof(mf)
	hasrules[dir] = 1
	ln = 0
	while ((getline line < mf) > 0) {
		ln++
		sub(/#.*/, "", line)
		line = trim(line)
		if (line == "")
			continue
		if (line ~ /^module[ \t]+[A-Za-z0-9_.-]+[ \t]*:/) {
			i = index(line, ":")
			lhs = trim(substr(line, 7, i - 7))
			nf2 = split(trim(substr(line, i + 1)), f, /[ \t]+/)
			for (j = 1; j <= nf2; j++) {
				nmod++
				mdir[nmod] = dir
				mfile[nmod] = glob2re(f[j])
				mname[nmod] = lhs
			}
			continue
		}
		if ((i = index(line, ":")) > 0) {
			lhs = trim(substr(line, 1, i - 1))
			rhs = trim(substr(line, i + 1))
		} else {
			lhs = "*"
			rhs = line
		}
		nf2 = split(lhs, f, /[ \t]+/)
		nh = split(rhs, h, /[ \t]+/)
		for (i = 1; i <= nf2; i++)
			for (j = 1; j <= nh; j++) {
				nr++
				rdir[nr] = dir
				rfile[nr] = glob2re(f[i])
				rhdr[nr] = glob2re(h[j])
				rtext[nr] = h[j]
				rwhere[nr] = (dir == "." ? "" : dir "/") f[i]
			}
	}
	close(mf)
}

# the directory whose .may_include governs files of directory d
function governing(d) {
	while (!(d in hasrules)) {
		if (d == ".")
			return ""
		d = dirof(d)
	}
	return d
}

# path relative to directory d
function relto(p, d) { return d == "." ? p : substr(p, length(d) + 2) }

# the module file p belongs to: a "module" rule names it, or else its
# name without .c or .h
function modof(p,    g, rel, i) {
	if (p in modcache)
		return modcache[p]
	g = governing(dirof(p))
	rel = relto(p, g)
	for (i = 1; i <= nmod; i++)
		if (mdir[i] == g && rel ~ mfile[i])
			return modcache[p] = mname[i]
	return modcache[p] = stemof(p)
}

function allowed(f, h,    d, g, rel, i) {
	d = dirof(f)
	if (h !~ /^</ && dirof(h) == d && modof(h) == modof(f))
		return 1
	g = governing(d)
	if (g == "")
		return 0
	rel = relto(f, g)
	for (i = 1; i <= nr; i++)
		if (rdir[i] == g && rel ~ rfile[i] && h ~ rhdr[i])
			return 1
	return 0
}

function is_system(h) {
	if (h ~ /^(sys|arpa|netinet|net)\//)
		return 1
	return (h in sysh)
}

# what the rules allow file f from outside its own directory (for messages)
function allowed_list(f, what,    g, rel, i, out, seen, x) {
	g = governing(dirof(f))
	rel = relto(f, g)
	out = ""
	for (i = 1; i <= nr; i++) {
		if (rdir[i] != g || rel !~ rfile[i])
			continue
		x = rtext[i]
		if (what == "local" && (x ~ /^</ || dirof(x) != dirof(f)))
			continue
		if (what == "tree" && (x ~ /^</ || dirof(x) == dirof(f)))
			continue
		if (x in seen)
			continue
		seen[x] = 1
		out = out " " (what == "local" ? baseof(x) : x)
	}
	return out
}

function where_allowed(h,    i, out, seen) {
	out = ""
	for (i = 1; i <= nr; i++)
		if (h ~ rhdr[i] && !(rwhere[i] in seen)) {
			seen[rwhere[i]] = 1
			out = out " " rwhere[i]
		}
	return out == "" ? " no file" : out
}

function violation(f, ln, x, rule,    g) {
	g = governing(dirof(f))
	if (g == "")
		printf "%s:%d: includes %s, which no .may_include allows (there is none in %s/ or above)\n", \
		    f, ln, x, dirof(f)
	else
		printf "%s:%d: includes %s, which %s.may_include does not allow (rule:%s)\n", \
		    f, ln, x, g == "." ? "" : g "/", rule
	bad++
}

# one #include line of file f
function check_include(f, ln, line,    q, x, p, cand, n, i, d, first, rule) {
	sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
	q = substr(line, 1, 1)
	if (q == "<") {
		x = substr(line, 2, index(line, ">") - 2)
		if (is_system(x) || allowed(f, "<" x ">"))
			return
		violation(f, ln, "<" x ">", " <" x "> is for" where_allowed("<" x ">"))
		return
	}
	line = substr(line, 2)
	x = substr(line, 1, index(line, "\"") - 1)
	d = dirof(f)
	p = norm((d == "." ? "" : d "/") x)
	if (p in exists) {
		if (!allowed(f, p))
			report_tree(f, ln, x, p)
		else
			edge_include(f, ln, x, p)
		return
	}
	n = split(byname[baseof(x)], cand, " ")
	first = ""
	for (i = 1; i <= n; i++) {
		p = cand[i]
		if (p != x && substr(p, length(p) - length(x)) != "/" x)
			continue
		if (allowed(f, p)) {
			edge_include(f, ln, x, p)
			return
		}
		if (first == "")
			first = p
	}
	if (first == "") {
		violation(f, ln, x, " no header of that name in the tree")
		return
	}
	report_tree(f, ln, x, first)
}

function report_tree(f, ln, x, p,    what) {
	edge_include(f, ln, x, p)
	what = (dirof(p) == dirof(f)) ? "local" : "tree"
	violation(f, ln, x (x == p ? "" : " (" p ")"), \
	    what == "local" ? " in " dirof(f) "/, " baseof(f) " may include " only(allowed_list(f, "local")) : \
	    " outside " dirof(f) "/, " baseof(f) " may include " only(allowed_list(f, "tree")))
}

function only(list) {
	return list == "" ? "no header" : "only" list
}

# --- the module graph of each directory --------------------------------

function add_edge(d, a, b, why) {
	if (a == b)
		return
	if (!((d, a, b) in edge)) {
		edge[d, a, b] = why
		succ[d, a] = succ[d, a] " " b
	}
	node[d, a] = 1
	node[d, b] = 1
	if (!(d in dirseen)) {
		dirseen[d] = 1
		dirs[++ndirs] = d
	}
}

function edge_include(f, ln, x, p,    d) {
	d = dirof(f)
	if (dirof(p) != d || modof(p) == modof(f))
		return
	if ((p, modof(f)) in impl)
		return
	add_edge(d, modof(f), modof(p), f ":" ln " includes " x)
}

# the name of the function a line at column 0 declares or defines, or ""
function funcname(line,    i, s) {
	if (line !~ /^[A-Za-z_]/ || line ~ /^(typedef|struct [A-Za-z0-9_]* *\{|enum|union|extern)/)
		return ""
	gsub(/__attribute__ *\(\([^)]*\)\)/, "", line)
	i = index(line, "(")
	if (i < 2)
		return ""
	s = substr(line, 1, i - 1)
	if (s !~ /[A-Za-z0-9_]$/)
		return ""
	sub(/.*[^A-Za-z0-9_]/, "", s)
	if (s ~ /^(if|while|for|switch|return|sizeof)$/)
		return ""
	return s
}

# a pass over every file of the tree: function definitions in .c files,
# declarations in .h files
function scan_defs(f,    line, name, d, pend, pstatic) {
	d = dirof(f)
	pend = ""
	while ((getline line < f) > 0) {
		if (f ~ /\.h$/) {
			if ((name = funcname(line)) != "")
				decl[f] = decl[f] " " name
			continue
		}
		# in a .c file, a function is defined where its signature, which
		# starts at column 0, meets a { before any ;
		if (pend == "" && (name = funcname(line)) != "") {
			pend = name
			pstatic = (line ~ /^static[ \t]/)
		}
		if (pend == "")
			continue
		if (line ~ /^\{/ || line ~ /\)[ \t]*\{[ \t]*$/) {
			if (pstatic)
				ownstatic[f, pend] = 1
			else if (!((d, pend) in def))
				def[d, pend] = f
			pend = ""
		} else if (line ~ /;[ \t]*$/)
			pend = ""
	}
	close(f)
}

function scan_calls(f,    d, line, ln, incomment, i, j, tok, rest, g, pre) {
	d = dirof(f)
	incomment = 0
	ln = 0
	while ((getline line < f) > 0) {
		ln++
		# comments, strings and character constants out
		rest = ""
		while (line != "") {
			if (incomment) {
				if ((i = index(line, "*/")) == 0) {
					line = ""
					break
				}
				line = substr(line, i + 2)
				incomment = 0
				continue
			}
			i = index(line, "/*")
			j = index(line, "//")
			if (j > 0 && (i == 0 || j < i)) {
				rest = rest substr(line, 1, j - 1)
				line = ""
			} else if (i > 0) {
				rest = rest substr(line, 1, i - 1) " "
				line = substr(line, i + 2)
				incomment = 1
			} else {
				rest = rest line
				line = ""
			}
		}
		line = rest
		if (line ~ /^[ \t]*#/)
			continue
		gsub(/\\./, "", line)
		gsub(/"[^"]*"/, "\"\"", line)
		gsub(/\047[^\047]*\047/, "0", line)
		while (match(line, /[A-Za-z_][A-Za-z0-9_]*/)) {
			tok = substr(line, RSTART, RLENGTH)
			pre = substr(line, 1, RSTART - 1)
			line = substr(line, RSTART + RLENGTH)
			if (!((d, tok) in def) || (f, tok) in ownstatic)
				continue
			g = def[d, tok]
			if (g == f || modof(g) == modof(f))
				continue
			# struct tags and members are not the function
			if (pre ~ /(struct|union|enum)[ \t]+$/ || pre ~ /(\.|->)[ \t]*$/)
				continue
			add_edge(d, modof(f), modof(g), f ":" ln " calls " tok "()")
		}
	}
	close(f)
}

# Tarjan: the strongly connected components of directory d
function strong(d, v,    list, n, i, w) {
	idx[d, v] = low[d, v] = ++counter
	stack[++sp] = v
	onstack[d, v] = 1
	n = split(succ[d, v], list, " ")
	for (i = 1; i <= n; i++) {
		w = list[i]
		if (!((d, w) in idx)) {
			strong(d, w)
			if (low[d, w] < low[d, v])
				low[d, v] = low[d, w]
		} else if (onstack[d, w] && idx[d, w] < low[d, v])
			low[d, v] = idx[d, w]
	}
	if (low[d, v] == idx[d, v]) {
		ncomp++
		do {
			w = stack[sp--]
			onstack[d, w] = 0
			comp[d, w] = ncomp
			members[ncomp] = members[ncomp] " " w
		} while (w != v)
	}
}

# the shortest cycle through v inside its component, as "v a b" (back to v)
function shortest_cycle(d, v,    q, head, tail, u, list, n, i, w, prev, seen, path) {
	head = 1
	tail = 0
	q[++tail] = v
	seen[v] = 1
	while (head <= tail) {
		u = q[head++]
		n = split(succ[d, u], list, " ")
		for (i = 1; i <= n; i++) {
			w = list[i]
			if (comp[d, w] != comp[d, v])
				continue
			if (w == v) {
				path = u
				while (u != v) {
					u = prev[u]
					path = u " " path
				}
				return path
			}
			if (!(w in seen)) {
				seen[w] = 1
				prev[w] = u
				q[++tail] = w
			}
		}
	}
	return ""
}

function report_cycles(d,    v, nm, m, i, j, c, c0, path, np, p, names, why, first, covered, k) {
	counter = 0
	sp = 0
	c0 = ncomp
	for (k in node) {
		split(k, p, SUBSEP)
		if (p[1] == d && !((d, p[2]) in idx))
			strong(d, p[2])
	}
	for (c = c0 + 1; c <= ncomp; c++) {
		nm = split(members[c], m, " ")
		if (nm < 2)
			continue
		# sorted members, for a stable report
		for (i = 2; i <= nm; i++)
			for (j = i; j > 1 && m[j - 1] > m[j]; j--) {
				v = m[j]; m[j] = m[j - 1]; m[j - 1] = v
			}
		for (i = 1; i <= nm; i++) {
			if ((c, m[i]) in covered)
				continue
			path = shortest_cycle(d, m[i])
			np = split(path, p, " ")
			p[np + 1] = p[1]
			names = ""
			why = ""
			for (j = 1; j <= np; j++) {
				covered[c, p[j]] = 1
				names = names p[j] " -> "
				why = why (j > 1 ? "; " : "") edge[d, p[j], p[j + 1]]
			}
			first = edge[d, p[1], p[2]]
			sub(/ .*/, "", first)
			printf "%s: cycle in %s/: %s%s (%s)\n", first, d, names, p[1], why
			bad++
		}
	}
}

BEGIN {
	n = split("assert.h complex.h ctype.h errno.h fenv.h float.h inttypes.h " \
	    "iso646.h limits.h locale.h math.h setjmp.h signal.h stdalign.h " \
	    "stdarg.h stdatomic.h stdbool.h stddef.h stdint.h stdio.h stdlib.h " \
	    "stdnoreturn.h string.h tgmath.h threads.h time.h uchar.h wchar.h " \
	    "wctype.h aio.h cpio.h dirent.h dlfcn.h fcntl.h fnmatch.h glob.h " \
	    "grp.h iconv.h langinfo.h libgen.h monetary.h netdb.h nl_types.h " \
	    "poll.h pthread.h pwd.h regex.h sched.h search.h semaphore.h " \
	    "spawn.h strings.h syslog.h tar.h termios.h unistd.h utime.h " \
	    "wordexp.h malloc.h getopt.h endian.h alloca.h execinfo.h", sh, " ")
	for (i = 1; i <= n; i++)
		sysh[sh[i]] = 1
}

{
	if ($0 ~ /(^|\/)\.may_include$/) {
		parse_rules($0)
		next
	}
	if ($0 ~ /\.proto$/) {
		p = $0
		sub(/\.proto$/, ".pb-c.h", p)
	} else {
		p = $0
		src[++nsrc] = p
	}
	exists[p] = 1
	byname[baseof(p)] = byname[baseof(p)] " " p
}

END {
	for (i = 1; i <= nsrc; i++)
		scan_defs(src[i])
	# impl[H, m]: module m defines a function that header H declares
	for (i = 1; i <= nsrc; i++) {
		f = src[i]
		if (f !~ /\.h$/)
			continue
		n = split(decl[f], names, " ")
		for (j = 1; j <= n; j++)
			if ((dirof(f), names[j]) in def)
				impl[f, modof(def[dirof(f), names[j]])] = 1
	}
	for (i = 1; i <= nsrc; i++) {
		f = src[i]
		ln = 0
		while ((getline line < f) > 0) {
			ln++
			if (line ~ /^[ \t]*#[ \t]*include[ \t]*[<"]/)
				check_include(f, ln, line)
		}
		close(f)
	}
	for (i = 1; i <= nsrc; i++)
		if (src[i] ~ /\.c$/)
			scan_calls(src[i])
	for (i = 1; i <= ndirs; i++)
		report_cycles(dirs[i])
	exit bad > 0
}
'

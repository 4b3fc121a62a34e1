#!/bin/sh
# Banned-API check (STYLE.md 7): reject unsafe or unidiomatic C calls and
# '//' comments in C sources.  Usage: check-banned.sh PATH…  where each PATH
# is a .c/.h file or a directory searched recursively for them.  Prints
# FILE:LINE: lines for every hit and exits 1 if there is any, 0 if none,
# 99 on a harness error.
#
# Comments and string/character literals are blanked out before matching
# (line numbers are kept), so "http://…" in a string or "sprintf" in a
# comment are not hits; a '//' that survives that is a real comment.
set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 PATH…" >&2
    exit 99
fi
command -v perl >/dev/null 2>&1 || { echo "check-banned: perl not found" >&2; exit 99; }

files=$(mktemp) || exit 99
trap 'rm -f "$files"' EXIT INT TERM
list=$(mktemp) || exit 99
trap 'rm -f "$files" "$list"' EXIT INT TERM
for p in "$@"; do
    if [ -d "$p" ]; then
        find "$p" -type f \( -name '*.c' -o -name '*.h' \) -print >> "$list" || exit 99
    elif [ -f "$p" ]; then
        printf '%s\n' "$p" >> "$list"
    else
        echo "check-banned: no such file or directory: $p" >&2
        exit 99
    fi
done
LC_ALL=C sort -u "$list" > "$files"
if [ ! -s "$files" ]; then
    echo "check-banned: no .c or .h files under: $*" >&2
    exit 99
fi

LC_ALL=C perl -e '
use strict;
use warnings;

# name => what to use instead
my %banned = (
    strcpy   => "g_strlcpy or g_strdup",
    strcat   => "g_strlcat or GString",
    sprintf  => "g_snprintf or g_strdup_printf",
    vsprintf => "g_vsnprintf or g_strdup_vprintf",
    strncpy  => "g_strlcpy",
    strtok   => "g_strsplit or strtok_r",
    atoi     => "g_ascii_string_to_signed",
    atol     => "g_ascii_string_to_signed",
    system   => "GSubprocess with an argv",
    popen    => "GSubprocess with an argv",
);
my $names = join("|", sort keys %banned);
# A call: the name not preceded by an identifier character, "." or "->".
my $call = qr/(?<![\w.])(?<!->)($names)\s*\(/;
my $hits = 0;

while (my $file = <STDIN>) {
    chomp $file;
    open(my $fh, "<", $file) or do { print STDERR "check-banned: cannot read $file: $!\n"; exit 99 };
    my $src = do { local $/; <$fh> };
    close $fh;

    my $code = "";
    my $last = 0;
    my @slashes;
    while ($src =~ m{(/\*.*?\*/)|(//[^\n]*)|("(?:\\.|[^"\\\n])*")|(\x27(?:\\.|[^\x27\\\n])*\x27)}gs) {
        my ($s, $e) = ($-[0], $+[0]);
        my $m = substr($src, $s, $e - $s);
        $code .= substr($src, $last, $s - $last);
        if (defined $1) {
            (my $nl = $m) =~ tr/\n//cd;
            $code .= " " . $nl;
        } elsif (defined $2) {
            push @slashes, 1 + (substr($src, 0, $s) =~ tr/\n//);
            $code .= " ";
        } elsif (defined $3) {
            $code .= "\"\"";
        } else {
            $code .= "\x27\x27";
        }
        $last = $e;
    }
    $code .= substr($src, $last);

    my $n = 0;
    for my $line (split /\n/, $code, -1) {
        $n++;
        next if $line =~ /^\s*#\s*(?:include|pragma)\b/;
        while ($line =~ /$call/g) {
            print "$file:$n: banned: $1() (use $banned{$1})\n";
            $hits++;
        }
    }
    for my $l (@slashes) {
        print "$file:$l: banned: // comment (use /* */)\n";
        $hits++;
    }
}
exit($hits ? 1 : 0);
' < "$files"
status=$?
if [ $status -eq 0 ]; then
    echo "check-banned: $(wc -l < "$files") files clean"
fi
exit $status

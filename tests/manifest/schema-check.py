#!/usr/bin/env python3
# Lint: every given manifest loads with convoy's loader AND validates
# against manifests/convoy-manifest.schema.json.  Markdown files
# contribute their ```yaml manifest blocks.  The YAML is turned into JSON
# by `manifesttest --to-json` (ynode), then checked by the small JSON
# Schema validator below (the subset of draft 2020-12 the schema uses).
import json
import os
import re
import subprocess
import sys
import tempfile

SUPPORTED = {
    '$schema', '$id', '$defs', '$ref', 'title', 'description', 'type',
    'properties', 'required', 'additionalProperties', 'patternProperties',
    'enum', 'const', 'items', 'minimum', 'maximum', 'minLength', 'maxLength',
    'oneOf', 'anyOf', 'pattern',
}


class Validator:
    def __init__(self, schema):
        self.root = schema
        self.check_keywords(schema, '#')

    def check_keywords(self, s, where):
        # The validator must understand every keyword the schema uses.
        if isinstance(s, dict):
            for k, v in s.items():
                if k not in SUPPORTED:
                    raise SystemExit('schema: unsupported keyword %r at %s' % (k, where))
                if k in ('properties', 'patternProperties', '$defs'):
                    for name, sub in v.items():
                        self.check_keywords(sub, '%s/%s/%s' % (where, k, name))
                elif k in ('oneOf', 'anyOf'):
                    for i, sub in enumerate(v):
                        self.check_keywords(sub, '%s/%s/%d' % (where, k, i))
                elif k in ('items', 'additionalProperties') and isinstance(v, dict):
                    self.check_keywords(v, '%s/%s' % (where, k))

    def resolve(self, ref):
        if not ref.startswith('#/'):
            raise SystemExit('schema: unsupported $ref %r' % ref)
        node = self.root
        for part in ref[2:].split('/'):
            node = node[part]
        return node

    @staticmethod
    def type_ok(value, t):
        if t == 'object':
            return isinstance(value, dict)
        if t == 'array':
            return isinstance(value, list)
        if t == 'string':
            return isinstance(value, str)
        if t == 'integer':
            return isinstance(value, int) and not isinstance(value, bool)
        if t == 'number':
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if t == 'boolean':
            return isinstance(value, bool)
        if t == 'null':
            return value is None
        raise SystemExit('schema: unknown type %r' % t)

    def errors(self, value, s, path):
        if s is True or s == {}:
            return []
        if s is False:
            return ['%s: not allowed' % path]
        out = []
        if '$ref' in s:
            out += self.errors(value, self.resolve(s['$ref']), path)
        if 'type' in s:
            types = s['type'] if isinstance(s['type'], list) else [s['type']]
            if not any(self.type_ok(value, t) for t in types):
                return out + ['%s: expected %s, got %s' % (path, ' or '.join(types), json.dumps(value))]
        if 'const' in s and value != s['const']:
            out.append('%s: expected %s, got %s' % (path, json.dumps(s['const']), json.dumps(value)))
        if 'enum' in s and value not in s['enum']:
            out.append('%s: expected one of %s, got %s' % (path, s['enum'], json.dumps(value)))
        if isinstance(value, str):
            if 'minLength' in s and len(value) < s['minLength']:
                out.append('%s: shorter than %d' % (path, s['minLength']))
            if 'maxLength' in s and len(value) > s['maxLength']:
                out.append('%s: longer than %d' % (path, s['maxLength']))
            if 'pattern' in s and not re.search(s['pattern'], value):
                out.append('%s: %r does not match %s' % (path, value, s['pattern']))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if 'minimum' in s and value < s['minimum']:
                out.append('%s: %s < %s' % (path, value, s['minimum']))
            if 'maximum' in s and value > s['maximum']:
                out.append('%s: %s > %s' % (path, value, s['maximum']))
        if isinstance(value, list) and 'items' in s:
            for i, v in enumerate(value):
                out += self.errors(v, s['items'], '%s/%d' % (path, i))
        if isinstance(value, dict):
            for r in s.get('required', []):
                if r not in value:
                    out.append('%s: missing required property %r' % (path, r))
            props = s.get('properties', {})
            pats = s.get('patternProperties', {})
            for k, v in value.items():
                matched = False
                if k in props:
                    matched = True
                    out += self.errors(v, props[k], '%s/%s' % (path, k))
                for p, sub in pats.items():
                    if re.search(p, k):
                        matched = True
                        out += self.errors(v, sub, '%s/%s' % (path, k))
                if not matched and 'additionalProperties' in s:
                    out += self.errors(v, s['additionalProperties'], '%s/%s' % (path, k))
        if 'oneOf' in s:
            n = sum(1 for sub in s['oneOf'] if not self.errors(value, sub, path))
            if n != 1:
                detail = [e for sub in s['oneOf'] for e in self.errors(value, sub, path)]
                out.append('%s: expected exactly one alternative of oneOf to match, %d did%s' %
                           (path, n, (' (' + '; '.join(detail[:4]) + ')') if n == 0 else ''))
        if 'anyOf' in s:
            if not any(not self.errors(value, sub, path) for sub in s['anyOf']):
                out.append('%s: no alternative of anyOf matches' % path)
        return out


def yaml_blocks(md):
    """The ```yaml manifest blocks of a Markdown file, with their lines."""
    blocks = []
    lines = open(md, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        if lines[i].strip() == '```yaml manifest':
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != '```':
                j += 1
            blocks.append((start + 1, '\n'.join(lines[start:j]) + '\n'))
            i = j
        i += 1
    return blocks


def main():
    driver, schema_path, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
    validator = Validator(json.load(open(schema_path, encoding='utf-8')))
    failures = 0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for path in inputs:
            if path.endswith('.md'):
                blocks = yaml_blocks(path)
                if not blocks:
                    print('%s: no ```yaml manifest blocks' % path, file=sys.stderr)
                    failures += 1
                for line, text in blocks:
                    name = '%s-line%d.yaml' % (os.path.basename(path), line)
                    f = os.path.join(tmp, name)
                    with open(f, 'w', encoding='utf-8') as out:
                        out.write(text)
                    files.append((f, '%s:%d' % (path, line)))
            elif os.path.isdir(path):
                # A directory loads as one manifest; each file is checked
                # against the schema on its own.
                files.append((path, path))
                for e in sorted(os.listdir(path)):
                    if e.endswith('.yaml') or e.endswith('.yml'):
                        files.append((os.path.join(path, e), None))
            else:
                files.append((path, path))
        for f, label in files:
            if label is not None:
                checked += 1
                r = subprocess.run([driver, '--load', f], capture_output=True, text=True)
                if r.returncode != 0:
                    print('%s: the loader rejects it:\n%s' % (label, r.stderr), file=sys.stderr)
                    failures += 1
                if os.path.isdir(f):
                    continue
            label = label or f
            r = subprocess.run([driver, '--to-json', f], capture_output=True, text=True)
            if r.returncode != 0:
                print('%s: cannot convert to JSON:\n%s' % (label, r.stderr), file=sys.stderr)
                failures += 1
                continue
            errs = validator.errors(json.loads(r.stdout), validator.root, '')
            for e in errs:
                print('%s: schema: %s' % (label, e or '/'), file=sys.stderr)
            if errs:
                failures += 1
    print('%d manifest(s) checked, %d failed' % (checked, failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

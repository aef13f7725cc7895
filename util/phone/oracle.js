#!/usr/bin/env node
/*
 * The oracle: labels "raw<TAB>REGION" lines from stdin with
 * libphonenumber-js (max metadata, the version pinned in package.json):
 *
 *   raw<TAB>REGION<TAB>E164-or-INVALID<TAB>true|false
 *
 * libphonenumber-js's parsePhoneNumberFromString(raw, REGION), max metadata:
 * an empty, ZZ or unsupported REGION means no default region; a parse
 * error (not a number, unknown calling code, too short, too long) gives
 * INVALID, false.
 *
 *   node gen-corpus.js | node oracle.js > ../../t/phone/corpus.tsv
 */
'use strict'

let { parsePhoneNumberFromString } = require('libphonenumber-js/max')

/*
 * libphonenumber-js checks the phone-context value with module-level
 * regular expressions that carry the 'g' flag, so RegExp.test() keeps
 * lastIndex between calls and every other "tel:...;phone-context=+CC" in
 * one process fails.  Each such row is labelled with a freshly loaded
 * module, i.e. as the library answers for that input on its own.
 */
function fresh() {
    for (const k of Object.keys(require.cache)) {
        if (k.includes('libphonenumber-js')) {
            delete require.cache[k]
        }
    }
    parsePhoneNumberFromString =
        require('libphonenumber-js/max').parsePhoneNumberFromString
}

function label(raw, region) {
    if (raw.includes(';phone-context=')) {
        fresh()
    }
    const pn = parsePhoneNumberFromString(raw,
        region === '' ? undefined : region)
    if (!pn) {
        return ['INVALID', 'false']
    }
    return [pn.number, pn.isValid() ? 'true' : 'false']
}

const input = require('fs').readFileSync(0, 'utf8')
const out = []

for (const line of input.split('\n')) {
    if (line === '') {
        continue
    }
    const tab = line.indexOf('\t')
    const raw = tab < 0 ? line : line.slice(0, tab)
    let region = tab < 0 ? '' : line.slice(tab + 1)
    const t2 = region.indexOf('\t')
    if (t2 >= 0) {
        region = region.slice(0, t2)
    }
    out.push([raw, region, ...label(raw, region)].join('\t'))
}

process.stdout.write(out.join('\n') + '\n')

#!/usr/bin/env node
/*
 * Differential testing aid: random strings over a phone-ish alphabet and
 * every region, as "raw<TAB>REGION" lines, to run through both the oracle
 * and build/crmsync-phone (see README.md).  Not the committed corpus.
 *
 *   node random-inputs.js SEED COUNT | node oracle.js > /tmp/r.tsv
 */
'use strict'

const meta = require('libphonenumber-js/metadata.max.json')

let state = parseInt(process.argv[2] || '1', 10) >>> 0
const COUNT = parseInt(process.argv[3] || '20000', 10)
function rnd() {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = n => Math.floor(rnd() * n)
const pick = a => a[int(a.length)]

const regions = Object.keys(meta.countries)
const ccs = Object.keys(meta.country_calling_codes)
    .concat(Object.keys(meta.nonGeographic))
const tokens = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '00', '011',
    '8~10', '15', '9', ' ', ' ', '-', '.', '(', ')', '/', '+', '+', '＋',
    '０', '５', '٣', '۷', '९', '\u00A0', '\u2013', '~', 'x', 'X', 'ext', ' ext. ',
    ';ext=', '#', ',', ',,', ';', 'tel:', ';phone-context=', ';isub=', 'a',
    'abc', 'FLOWERS', ' (mobile) ', 'call ', '*', '\u200B', '[', ']', 'int',
    'anexo', 'доб', 'ｅｘｔ', 'e', ':', '\u0301', '\uFFFD', 'whatsapp:'
]

const out = []
for (let i = 0; i < COUNT; i++) {
    let s = ''
    const mode = int(4)
    if (mode === 0) {
        const n = 1 + int(12)
        for (let k = 0; k < n; k++) s += pick(tokens)
    } else {
        /* a calling code and digits, with noise */
        if (int(2)) s += pick(['+', '', '00', '011', '8 10 ', 'tel:+', '＋'])
        s += pick(ccs)
        const n = int(16)
        for (let k = 0; k < n; k++) {
            s += int(4) ? String(int(10)) : pick(tokens)
        }
        if (int(5) === 0) s += pick([' ext 12', ' x9', ';phone-context=+' + pick(ccs), '#', ' (work)'])
    }
    s = s.replace(/[\t\r\n]/g, ' ')
    out.push(s + '\t' + (int(4) ? pick(regions) : pick(['', 'ZZ'])))
}
process.stdout.write(out.join('\n') + '\n')

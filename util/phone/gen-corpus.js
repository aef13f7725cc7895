#!/usr/bin/env node
/*
 * Seeded generator of messy phone number inputs: writes "raw<TAB>REGION"
 * lines (unlabelled; util/phone/oracle.js adds the answers).
 *
 *   node gen-corpus.js [seed] [count] | node oracle.js > ../../t/phone/corpus.tsv
 *
 * Valid national significant numbers are sampled from the metadata's own
 * type patterns (fixed line, mobile, toll free, ...), then written the way
 * people and platforms write them: national and international formats,
 * IDD prefixes (right and wrong ones), a missing '+', WhatsApp ids,
 * extensions, Unicode digits, tel: URIs, surrounding text, vanity letters,
 * and broken numbers (invalid ranges, wrong lengths, unknown codes).
 */
'use strict'

const lib = require('libphonenumber-js/max')
const meta = require('libphonenumber-js/metadata.max.json')

const SEED = parseInt(process.argv[2] || '20261121', 10)
const COUNT = parseInt(process.argv[3] || '4000', 10)

/* mulberry32 */
let state = SEED >>> 0
function rnd() {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
function int(n) { return Math.floor(rnd() * n) }
function pick(a) { return a[int(a.length)] }
function chance(p) { return rnd() < p }

/* a sampler for the metadata's regular expressions */

function parseRe(s) {
    let i = 0
    function alt() {
        const seqs = [seq()]
        while (s[i] === '|') { i++; seqs.push(seq()) }
        return { t: 'alt', seqs }
    }
    function seq() {
        const items = []
        while (i < s.length && s[i] !== '|' && s[i] !== ')') {
            let a = atom()
            let min = 1, max = 1
            if (s[i] === '?') { min = 0; max = 1; i++ }
            else if (s[i] === '*') { min = 0; max = 3; i++ }
            else if (s[i] === '+') { min = 1; max = 3; i++ }
            else if (s[i] === '{') {
                const j = s.indexOf('}', i)
                const q = s.slice(i + 1, j).split(',')
                min = parseInt(q[0], 10)
                max = q.length > 1 ? (q[1] === '' ? min + 3 : parseInt(q[1], 10)) : min
                i = j + 1
            }
            items.push({ a, min, max })
        }
        return items
    }
    function atom() {
        const c = s[i]
        if (c === '(') {
            i++
            if (s[i] === '?' && s[i + 1] === ':') { i += 2 }
            const r = alt()
            i++ /* ) */
            return r
        }
        if (c === '[') {
            i++
            const set = []
            while (s[i] !== ']') {
                let a
                if (s[i] === '\\' && s[i + 1] === 'd') { set.push(...'0123456789'); i += 2; continue }
                a = s[i++]
                if (s[i] === '-' && s[i + 1] !== ']') {
                    const b = s[i + 1]
                    i += 2
                    for (let x = a.charCodeAt(0); x <= b.charCodeAt(0); x++) set.push(String.fromCharCode(x))
                } else {
                    set.push(a)
                }
            }
            i++
            return { t: 'set', set }
        }
        if (c === '\\' && s[i + 1] === 'd') { i += 2; return { t: 'set', set: [...'0123456789'] } }
        if (c === '$' || c === '^') { i++; return { t: 'lit', v: '' } }
        i++
        return { t: 'lit', v: c }
    }
    return alt()
}

function sample(node) {
    if (node.t === 'alt') {
        const sq = pick(node.seqs)
        let out = ''
        for (const it of sq) {
            const n = it.min + int(it.max - it.min + 1)
            for (let k = 0; k < n; k++) out += sample(it.a)
        }
        return out
    }
    if (node.t === 'set') return pick(node.set)
    return node.v
}

const reCache = new Map()
function sampleRe(p) {
    if (!reCache.has(p)) reCache.set(p, parseRe(p))
    return sample(reCache.get(p))
}

const TYPES = ['FIXED_LINE', 'MOBILE', 'TOLL_FREE', 'PREMIUM_RATE',
    'PERSONAL_NUMBER', 'VOICEMAIL', 'UAN', 'PAGER', 'VOIP', 'SHARED_COST']

/* a valid number of the region: { region, cc, nsn, type } */
function validNumber(region, preferMobile) {
    const c = meta.countries[region]
    const types = c[11] || []
    for (let tries = 0; tries < 60; tries++) {
        let ti
        if (preferMobile && types[1] && chance(0.7)) ti = 1
        else if (chance(0.45) && types[0]) ti = 0
        else if (types[1] && chance(0.6)) ti = 1
        else ti = int(types.length)
        const t = types[ti]
        if (!t || !t[0]) continue
        const nsn = sampleRe(t[0])
        if (nsn.length < 2 || nsn.length > 17) continue
        try {
            const pn = lib.parsePhoneNumberWithError('+' + c[0] + nsn)
            if (pn.isValid() && pn.nationalNumber === nsn) {
                return { region: pn.country || region, cc: c[0], nsn, pn, type: TYPES[ti] }
            }
        } catch (e) { /* retry */ }
    }
    return null
}

const REGIONS = [
    'US', 'CA', 'GB', 'DE', 'FR', 'IT', 'ES', 'PT', 'NL', 'BE', 'CH', 'AT',
    'SE', 'NO', 'DK', 'FI', 'PL', 'CZ', 'RU', 'KZ', 'UA', 'BY', 'TR', 'IL',
    'AE', 'SA', 'EG', 'MA', 'NG', 'KE', 'ZA', 'GH', 'IN', 'PK', 'BD', 'CN',
    'HK', 'TW', 'JP', 'KR', 'SG', 'MY', 'ID', 'TH', 'VN', 'PH', 'AU', 'NZ',
    'MX', 'BR', 'AR', 'CO', 'CL', 'PE', 'VE', 'JM', 'PR', 'DO', 'GG', 'JE',
    'IM', 'VA', 'SM', 'CI', 'BJ', 'IR', 'IQ', 'GR', 'IE', 'HU', 'RO'
]
if (process.env.CORPUS_ALL_REGIONS) {
    /* differential runs: every region of the metadata */
    REGIONS.splice(0, REGIONS.length, ...Object.keys(meta.countries))
}
const QUIRK_REGIONS = ['IT', 'AR', 'BR', 'MX', 'RU', 'GB', 'DE', 'ID', 'KR',
    'CO', 'CN', 'JP', 'AU', 'VA', 'SM']

const FULLWIDTH = '０１２３４５６７８９'
const ARABIC = '٠١٢٣٤٥٦٧٨٩'
const PERSIAN = '۰۱۲۳۴۵۶۷۸۹'
const DEVANAGARI = '०१२३४५६७८९'

function mapDigits(s, table, p) {
    return s.replace(/[0-9]/g, d => (chance(p) ? table[+d] : d))
}

function national(v) {
    let s = v.pn.formatNational()
    const r = rnd()
    if (r < 0.2) s = s.replace(/ /g, '')
    else if (r < 0.35) s = s.replace(/ /g, '-')
    else if (r < 0.45) s = s.replace(/ /g, '.')
    return s
}

function intl(v) {
    let s = v.pn.formatInternational()
    const r = rnd()
    if (r < 0.25) s = s.replace(/ /g, '')
    else if (r < 0.4) s = s.replace(/ /g, '-')
    else if (r < 0.5) s = '+' + v.cc + ' (' + v.nsn.slice(0, 3) + ') ' + v.nsn.slice(3)
    return s
}

function iddOf(region) {
    const c = meta.countries[region]
    if (c[12]) return c[12].replace(/~/g, chance(0.5) ? '~' : ' ')
    if (/^\d+$/.test(c[1])) return c[1]
    return null
}

const EXTS = [' ext. ', ' ext ', ' x', ' x ', ' extension ', ';ext=', ' #',
    ',,', ' anexo ', ' доб. ', ' ext: ', ' Ext.', ' X', ', ', ' - ']

const NOISE_BEFORE = ['Call me at ', 'Tel: ', 'Phone: ', 'mobile - ',
    'My number is ', 'WhatsApp: ', 'cel ', 'Tél. ', '電話 ', 'Телефон: ',
    '(home) ', 'ph#', '* ']
const NOISE_AFTER = [' (mobile)', ' (work)', ' thanks!', ' — call after 5pm',
    ' / ask for Ana', ' home', '.', ' !!', ' (WhatsApp)', ' ext', ' pls']

const VANITY = ['1-800-FLOWERS', '1-800-GOT-MILK', '+1 800 CALL NOW',
    '0800 REVERSE', '1-888-NEW-CARS', '1-800-MY-APPLE', '+44 800 FLOWERS',
    '1 (800) CONTACTS', '0800-PIZZA-99', '+61 1300 DIALME']

const TEXT_NOT_NUMBERS = ['N/A', 'none', 'call me', '+', '-', '()', 'tbd',
    'unknown', '...', '#', 'x', 'ext. 12', 'no phone', '+ -', 'n/a 0']

const rows = []
const counts = {}

function emit(cat, raw, region) {
    raw = raw.replace(/[\t\r\n]/g, ' ')
    rows.push(raw + '\t' + region)
    counts[cat] = (counts[cat] || 0) + 1
}

function otherRegion(r) {
    let o
    do { o = pick(REGIONS) } while (o === r)
    return o
}

const CATS = [
    ['national', 14], ['international', 10], ['e164', 5], ['idd_prefix', 9],
    ['missing_plus', 7], ['wa_id', 8], ['extension', 7], ['unicode', 5],
    ['tel_uri', 5], ['text_noise', 7], ['vanity', 2], ['invalid', 11],
    ['quirk', 10]
]
const CAT_TOTAL = CATS.reduce((a, c) => a + c[1], 0)

function pickCat() {
    let r = int(CAT_TOTAL)
    for (const [c, w] of CATS) {
        if (r < w) return c
        r -= w
    }
}

let guard = 0
while (rows.length < COUNT && guard++ < COUNT * 20) {
    const cat = pickCat()
    const region = chance(0.25) ? pick(QUIRK_REGIONS) : pick(REGIONS)
    const v = validNumber(region, cat === 'wa_id')
    if (!v) continue

    switch (cat) {
    case 'national':
        emit(cat, national(v), chance(0.93) ? v.region : otherRegion(v.region))
        break

    case 'international':
        emit(cat, intl(v), pick(['', 'ZZ', v.region, otherRegion(v.region)]))
        break

    case 'e164':
        emit(cat, v.pn.number, pick(['', 'ZZ', v.region, 'US']))
        break

    case 'idd_prefix': {
        const from = chance(0.88) ? otherRegion(v.region) : v.region
        const idd = chance(0.88) ? iddOf(from) : pick(['00', '011', '810', '0011'])
        if (!idd) break
        const sep = pick([' ', '', '-', ' '])
        emit(cat, idd + sep + v.cc + sep + (chance(0.5) ? v.nsn : intl(v).replace(/^\+\d+[ -]?/, '')), from)
        break
    }

    case 'missing_plus':
        emit(cat, v.cc + pick(['', ' ']) + v.nsn,
            pick([v.region, v.region, otherRegion(v.region), '']))
        break

    case 'wa_id': {
        let id = v.cc + v.nsn
        const r = rnd()
        if (v.region === 'MX' && chance(0.5)) id = '521' + v.nsn
        if (v.region === 'BR' && v.nsn.length === 11 && chance(0.5)) {
            id = '55' + v.nsn.slice(0, 2) + v.nsn.slice(3)
        }
        if (v.region === 'AR' && v.nsn[0] === '9' && chance(0.5)) {
            id = '54' + v.nsn.slice(1)
        }
        if (r < 0.35) emit(cat, id, pick(['', 'ZZ']))
        else if (r < 0.6) emit(cat, '+' + id, '')
        else if (r < 0.85) emit(cat, 'whatsapp:+' + id, pick(['', 'ZZ', v.region]))
        else emit(cat, id + '@s.whatsapp.net', pick(['', v.region]))
        break
    }

    case 'extension': {
        const base = chance(0.5) ? intl(v) : national(v)
        const ext = String(1 + int(chance(0.8) ? 9999 : 99999999))
        const label = pick(EXTS)
        emit(cat, base + label + ext + (label === ' - ' ? '#' : ''),
            base[0] === '+' ? pick(['', v.region]) : v.region)
        break
    }

    case 'unicode': {
        const base = chance(0.5) ? intl(v) : national(v)
        const table = pick([FULLWIDTH, FULLWIDTH, ARABIC, PERSIAN, DEVANAGARI])
        let s = mapDigits(base, table, chance(0.7) ? 1 : 0.5)
        if (chance(0.3)) s = s.replace('+', '＋')
        if (chance(0.2)) s = s.replace(/ /g, '\u00A0')
        if (chance(0.15)) s = s.replace(/-/g, '\u2013')
        emit(cat, s, base[0] === '+' ? pick(['', v.region]) : v.region)
        break
    }

    case 'tel_uri': {
        const r = rnd()
        if (r < 0.45) {
            emit(cat, 'tel:' + v.pn.number + (chance(0.3) ? ';ext=' + (1 + int(999)) : ''),
                pick(['', v.region]))
        } else if (r < 0.65) {
            emit(cat, 'tel:' + intl(v).replace(/ /g, '-'), '')
        } else if (r < 0.85) {
            emit(cat, 'tel:' + v.nsn + ';phone-context=+' + v.cc, pick(['', v.region]))
        } else {
            emit(cat, 'tel:' + v.pn.number + ';isub=' + (1000 + int(9000)), '')
        }
        break
    }

    case 'text_noise': {
        const base = chance(0.5) ? intl(v) : national(v)
        emit(cat, (chance(0.8) ? pick(NOISE_BEFORE) : '') + base +
            (chance(0.6) ? pick(NOISE_AFTER) : ''),
            base[0] === '+' ? pick(['', v.region]) : v.region)
        break
    }

    case 'vanity':
        emit(cat, pick(VANITY), pick(['US', 'US', 'CA', 'GB', 'AU', '']))
        break

    case 'invalid': {
        const r = rnd()
        if (r < 0.2) {
            /* a digit dropped or added */
            const s = chance(0.5) ? v.nsn.slice(0, -1) : v.nsn + int(10)
            emit(cat, '+' + v.cc + ' ' + s, '')
        } else if (r < 0.4) {
            /* random digits of a plausible length */
            let s = ''
            const n = v.nsn.length
            for (let k = 0; k < n; k++) s += int(10)
            emit(cat, chance(0.5) ? '+' + v.cc + s : s, chance(0.5) ? v.region : '')
        } else if (r < 0.52) {
            emit(cat, pick(['+999 ', '+0 ', '+80 ', '+210 ', '+388 ']) + v.nsn, '')
        } else if (r < 0.64) {
            emit(cat, pick(TEXT_NOT_NUMBERS), pick(['', v.region]))
        } else if (r < 0.76) {
            const s = String(int(1000))
            emit(cat, chance(0.5) ? s : '+' + s, pick(['', v.region]))
        } else if (r < 0.88) {
            /* far too long */
            let s = v.cc + v.nsn + v.nsn
            emit(cat, '+' + s, '')
        } else {
            /* a first digit outside the region's ranges */
            const d = String((+v.nsn[0] + 1 + int(8)) % 10)
            emit(cat, national(v).replace(/\d/, d), v.region)
        }
        break
    }

    case 'quirk': {
        const q = int(10)
        if (q === 0) {
            /* Argentina: 0 area 15 subscriber */
            const a = validNumber('AR', true)
            if (a && a.nsn[0] === '9') {
                const n = a.nsn.slice(1)
                const area = n.length === 10 ? n.slice(0, 2) : n.slice(0, 3)
                emit(cat, '0' + area + ' 15 ' + n.slice(area.length), 'AR')
            }
        } else if (q === 1) {
            const a = validNumber('MX', true)
            if (a) emit(cat, pick(['+52 1 ', '044 ', '045 ', '01 ', '+521']) + a.nsn, 'MX')
        } else if (q === 2) {
            const a = validNumber('BR', false)
            if (a) emit(cat, pick(['0', '0 ', '90']) + pick(['12', '15', '21', '31', '41', '99']) + ' ' + a.nsn, 'BR')
        } else if (q === 3) {
            const a = validNumber(pick(['IT', 'SM', 'VA']), false)
            if (a) emit(cat, chance(0.5) ? national(a) : intl(a), pick(['IT', '', 'SM']))
        } else if (q === 4) {
            const a = validNumber(pick(['RU', 'KZ']), false)
            if (a) emit(cat, chance(0.5) ? '8 ' + a.nsn : pick(['8~10 ', '810 ']) + '44 20 7' + (100 + int(900)) + ' ' + (1000 + int(9000)), pick(['RU', 'KZ']))
        } else if (q === 5) {
            const a = validNumber(pick(['GB', 'GG', 'JE', 'IM']), false)
            if (a) emit(cat, '+44 (0)' + a.nsn, pick(['', 'GB']))
        } else if (q === 6) {
            const a = validNumber(pick(['DE', 'ID']), true)
            if (a) emit(cat, a.cc + a.nsn, a.region)
        } else if (q === 7) {
            const a = validNumber(pick(['KR', 'CO', 'CN']), false)
            if (a) {
                const cp = { KR: ['081', '082', '0085123'], CO: ['03', '05', '07', '0444'], CN: ['10193', '0'] }[a.region] || ['0']
                emit(cat, pick(cp) + ' ' + a.nsn, a.region)
            }
        } else if (q === 8) {
            /* NANP: 1 + area, national digits with 1 */
            const a = validNumber(pick(['US', 'CA', 'JM', 'PR', 'BS']), false)
            if (a) emit(cat, '1 ' + a.nsn, pick([a.region, 'US']))
        } else {
            /* AU 0011 and JP 010 */
            const a = validNumber(pick(['GB', 'US', 'DE', 'FR']), false)
            if (a) emit(cat, pick(['0011 ', '010 ', '001 ', '00 ']) + a.cc + ' ' + a.nsn, pick(['AU', 'JP', 'KR']))
        }
        break
    }
    }
}

process.stdout.write(rows.join('\n') + '\n')

const regions = new Set(rows.map(r => r.split('\t')[1]).filter(Boolean))
process.stderr.write('rows ' + rows.length + ', default regions ' +
    regions.size + ', seed ' + SEED + '\n' + JSON.stringify(counts) + '\n')

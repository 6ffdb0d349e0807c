//! Entropy-coded data: a bit reader that undoes 0xFF byte stuffing and stops
//! at markers, and canonical Huffman tables with a lookahead table.

use crate::MediaError;

/// Bits looked up at once in the fast table.
const FAST_BITS: u32 = 11;

/// A Huffman table ready for decoding.
#[derive(Clone)]
pub(crate) struct HuffTable {
    /// `fast[peek]` = `(length << 8) | symbol`, or 0 when the code is longer
    /// than [`FAST_BITS`].
    fast: Box<[u16; 1 << FAST_BITS]>,
    /// Largest code of each length (index 1..=16), -1 when none; index 17 is
    /// a sentinel.
    maxcode: [i32; 18],
    /// Index into `values` of the first code of each length, minus that code.
    valoffset: [i32; 18],
    values: Vec<u8>,
    /// For AC use: `fast_ac[peek]` = `(value << 16) | (run << 8) | bits`
    /// when a code and its extra bits fit in [`FAST_BITS`] (and the
    /// coefficient is nonzero), else 0.
    fast_ac: Box<[i32; 1 << FAST_BITS]>,
    /// For skipping AC coefficients: `skip_ac[peek]` = `(advance << 8) |
    /// bits` when the code fits in [`FAST_BITS`] (its value bits need not),
    /// where `bits` is the code plus value length and `advance` the
    /// positions it moves (run + 1; 16 for sixteen zeros; 64 for end of
    /// block), else 0.
    skip_ac: Box<[u16; 1 << FAST_BITS]>,
    /// Largest symbol value (DC tables must stay below 16).
    pub(crate) max_symbol: u8,
}

impl HuffTable {
    /// A table with no codes (every lookup is a bad code).
    pub(crate) fn empty() -> Self {
        HuffTable {
            fast: Box::new([0u16; 1 << FAST_BITS]),
            maxcode: [-1; 18],
            valoffset: [0; 18],
            values: Vec::new(),
            fast_ac: Box::new([0i32; 1 << FAST_BITS]),
            skip_ac: Box::new([0u16; 1 << FAST_BITS]),
            max_symbol: 0,
        }
    }

    /// Builds a table from the 16 code-length counts and the symbol values
    /// of a DHT segment.
    pub(crate) fn new(counts: &[u8; 16], values: &[u8]) -> Result<Self, MediaError> {
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if total > 256 || total != values.len() {
            return Err(MediaError::Corrupt("bad Huffman table".into()));
        }
        let mut fast = Box::new([0u16; 1 << FAST_BITS]);
        let mut maxcode = [-1i32; 18];
        let mut valoffset = [0i32; 18];
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = counts[len as usize - 1] as usize;
            if n > 0 {
                valoffset[len as usize] = k as i32 - code as i32;
                for _ in 0..n {
                    if code >= (1u32 << len) {
                        return Err(MediaError::Corrupt("bad Huffman table".into()));
                    }
                    if len <= FAST_BITS {
                        let shift = FAST_BITS - len;
                        let first = (code << shift) as usize;
                        let entry = ((len as u16) << 8) | values[k] as u16;
                        for slot in &mut fast[first..first + (1usize << shift)] {
                            *slot = entry;
                        }
                    }
                    code += 1;
                    k += 1;
                }
                maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX; // sentinel: never reached through decode
        let max_symbol = values.iter().copied().max().unwrap_or(0);
        let mut fast_ac = Box::new([0i32; 1 << FAST_BITS]);
        for (peek, slot) in fast_ac.iter_mut().enumerate() {
            let e = fast[peek];
            if e == 0 {
                continue;
            }
            let (len, rs) = ((e >> 8) as u32, (e & 0xFF) as u32);
            let (run, size) = (rs >> 4, rs & 15);
            if size == 0 || len + size > FAST_BITS {
                continue;
            }
            let bits = (peek as u32 >> (FAST_BITS - len - size)) & ((1 << size) - 1);
            let v = extend(bits as i32, size);
            *slot = (v << 16) | ((run as i32) << 8) | (len + size) as i32;
        }
        let mut skip_ac = Box::new([0u16; 1 << FAST_BITS]);
        for (slot, &e) in skip_ac.iter_mut().zip(fast.iter()) {
            if e == 0 {
                continue;
            }
            let (len, rs) = (e >> 8, e & 0xFF);
            let (run, size) = (rs >> 4, rs & 15);
            *slot = ((skip_advance(run as usize, size as u32) as u16) << 8) | (len + size);
        }
        Ok(HuffTable {
            fast,
            maxcode,
            valoffset,
            values: values.to_vec(),
            fast_ac,
            skip_ac,
            max_symbol,
        })
    }
}

/// Coefficient positions an AC symbol moves past: its zero run and the
/// coefficient itself; sixteen for the zero-run symbol; to the end of the
/// block (64 is past it) for end-of-block.
#[inline(always)]
fn skip_advance(run: usize, size: u32) -> usize {
    match (size, run) {
        (0, 15) => 16,
        (0, _) => 64,
        _ => run + 1,
    }
}

/// JPEG's EXTEND: `s`-bit magnitude category value to signed.
#[inline(always)]
fn extend(v: i32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < (1 << (s - 1)) {
        v - (1 << s) + 1
    } else {
        v
    }
}

/// Reads entropy-coded bits. Past a marker it supplies zero bits, as
/// libjpeg does; past the end of the file it supplies zero bits too but
/// remembers, so the caller can report truncation.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pub(crate) pos: usize,
    /// Valid bits are the top `nbits` of `buf`.
    buf: u64,
    nbits: u32,
    /// A marker was reached (at `pos`).
    pub(crate) marker_hit: bool,
    /// The data ended before a marker.
    pub(crate) eof: bool,
    /// Zero bits appended after a marker (or the end of data).
    pad_bits: u64,
}

#[inline(always)]
fn has_ff_byte(w: u64) -> bool {
    let x = !w;
    (x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080) != 0
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader {
            data,
            pos,
            buf: 0,
            nbits: 0,
            marker_hit: false,
            eof: false,
            pad_bits: 0,
        }
    }

    /// Tops the buffer up to at least 57 bits.
    #[inline(always)]
    pub(crate) fn refill(&mut self) {
        if self.nbits > 56 {
            return;
        }
        if !self.marker_hit {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                let w = u64::from_be_bytes(a);
                if !has_ff_byte(w) {
                    let k = (64 - self.nbits) / 8; // 1..=8
                    let bits = w >> (64 - 8 * k);
                    self.buf |= bits << (64 - self.nbits - 8 * k);
                    self.pos += k as usize;
                    self.nbits += 8 * k;
                    return;
                }
            }
        }
        self.refill_slow();
    }

    #[inline(never)]
    fn refill_slow(&mut self) {
        while self.nbits <= 56 {
            let byte = if self.marker_hit {
                self.pad_bits += 8;
                0
            } else {
                match self.data.get(self.pos) {
                    None => {
                        self.eof = true;
                        self.marker_hit = true;
                        self.pad_bits += 8;
                        0
                    }
                    Some(&0xFF) => {
                        // Skip fill bytes, then 0x00 means a stuffed 0xFF.
                        let mut j = self.pos + 1;
                        while self.data.get(j) == Some(&0xFF) {
                            j += 1;
                        }
                        match self.data.get(j) {
                            None => {
                                self.eof = true;
                                self.marker_hit = true;
                                self.pos = self.data.len();
                                self.pad_bits += 8;
                                0
                            }
                            Some(0) => {
                                self.pos = j + 1;
                                0xFF
                            }
                            Some(_) => {
                                self.pos = j - 1;
                                self.marker_hit = true;
                                self.pad_bits += 8;
                                0
                            }
                        }
                    }
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                }
            };
            self.buf |= (byte as u64) << (56 - self.nbits);
            self.nbits += 8;
        }
    }

    /// Peeks `n` (1..=32) bits; the buffer must hold them.
    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.nbits -= n;
    }

    /// Reads `n` (0..=16) bits.
    #[inline(always)]
    pub(crate) fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.nbits < n {
            self.refill();
        }
        let v = self.peek(n);
        self.consume(n);
        v
    }

    #[inline(always)]
    pub(crate) fn bit(&mut self) -> bool {
        self.bits(1) != 0
    }

    /// Reads `s` bits (0..=16) and sign-extends them as JPEG's EXTEND does.
    #[inline(always)]
    pub(crate) fn receive_extend(&mut self, s: u32) -> i32 {
        if s == 0 {
            return 0;
        }
        let s = s.min(16);
        let v = self.bits(s) as i32;
        extend(v, s)
    }

    /// Makes sure at least 32 bits are buffered.
    #[inline(always)]
    pub(crate) fn ensure32(&mut self) {
        if self.nbits < 32 {
            self.refill();
        }
    }

    /// Fast AC step: when the next code and its extra bits are short,
    /// consumes them and returns `(run, value)`. Needs [`Self::ensure32`].
    #[inline(always)]
    pub(crate) fn fast_ac(&mut self, t: &HuffTable) -> Option<(usize, i32)> {
        let e = t.fast_ac[self.peek(FAST_BITS) as usize];
        if e == 0 {
            return None;
        }
        self.consume((e & 0xFF) as u32);
        Some((((e >> 8) & 0xFF) as usize, e >> 16))
    }

    /// Decodes one Huffman symbol.
    #[inline(always)]
    pub(crate) fn decode(&mut self, t: &HuffTable) -> u8 {
        if self.nbits < 16 {
            self.refill();
        }
        let e = t.fast[self.peek(FAST_BITS) as usize];
        if e != 0 {
            self.consume((e >> 8) as u32);
            return e as u8;
        }
        self.decode_slow(t)
    }

    #[inline(never)]
    fn decode_slow(&mut self, t: &HuffTable) -> u8 {
        for len in FAST_BITS + 1..=16 {
            let code = self.peek(len) as i32;
            if code <= t.maxcode[len as usize] {
                self.consume(len);
                let idx = t.valoffset[len as usize] + code;
                return t.values.get(idx as usize).copied().unwrap_or(0);
            }
        }
        // Bad code: libjpeg warns and yields symbol 0.
        self.consume(16);
        0
    }

    /// Tops up a bit buffer held in the caller's locals (so that it can
    /// live in registers across a block); the slow path goes through `self`.
    #[inline(always)]
    fn refill_local(&mut self, buf: &mut u64, nbits: &mut u32, pos: &mut usize) {
        if !self.marker_hit {
            if let Some(chunk) = self.data.get(*pos..*pos + 8) {
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                let w = u64::from_be_bytes(a);
                if !has_ff_byte(w) {
                    let k = (64 - *nbits) / 8; // 1..=8
                    let bits = w >> (64 - 8 * k);
                    *buf |= bits << (64 - *nbits - 8 * k);
                    *pos += k as usize;
                    *nbits += 8 * k;
                    return;
                }
            }
        }
        self.buf = *buf;
        self.nbits = *nbits;
        self.pos = *pos;
        self.refill_slow();
        *buf = self.buf;
        *nbits = self.nbits;
        *pos = self.pos;
    }

    /// Decodes one symbol from a buffer holding at least 16 bits; returns
    /// `(bits used, symbol)`.
    #[inline(always)]
    fn decode_local(t: &HuffTable, buf: u64) -> (u32, u8) {
        let e = t.fast[(buf >> (64 - FAST_BITS)) as usize];
        if e != 0 {
            return ((e >> 8) as u32, e as u8);
        }
        Self::decode_slow_local(t, buf)
    }

    #[inline(never)]
    fn decode_slow_local(t: &HuffTable, buf: u64) -> (u32, u8) {
        for len in FAST_BITS + 1..=16 {
            let code = (buf >> (64 - len)) as i32;
            if code <= t.maxcode[len as usize] {
                let idx = t.valoffset[len as usize] + code;
                return (len, t.values.get(idx as usize).copied().unwrap_or(0));
            }
        }
        // Bad code: libjpeg warns and yields symbol 0.
        (16, 0)
    }

    /// Decodes one baseline block into `blk` (which must be all zero), in
    /// natural order through `natural` (80 entries, as [`super::NATURAL`]).
    /// Returns the DC difference and whether any AC coefficient was coded
    /// nonzero. Same bits consumed and same values as `decode` +
    /// `receive_extend` + `fast_ac`, with the bit buffer kept in locals.
    #[inline(always)]
    pub(crate) fn decode_block(
        &mut self,
        dc: &HuffTable,
        ac: &HuffTable,
        natural: &[usize; 80],
        blk: &mut [i16; 64],
    ) -> (i32, bool) {
        self.block_impl::<true>(dc, ac, natural, blk)
    }

    /// Reads past one baseline block without keeping its coefficients
    /// (the same bits consumed as [`Self::decode_block`]).
    #[inline(always)]
    pub(crate) fn skip_block(&mut self, dc: &HuffTable, ac: &HuffTable) {
        let (mut buf, mut nbits, mut pos) = (self.buf, self.nbits, self.pos);
        if nbits < 32 {
            self.refill_local(&mut buf, &mut nbits, &mut pos);
        }
        let (len, s) = Self::decode_local(dc, buf);
        let n = len + (s as u32).min(16);
        buf <<= n;
        nbits -= n;
        let mut i = 1usize;
        while i < 64 {
            if nbits < 32 {
                self.refill_local(&mut buf, &mut nbits, &mut pos);
            }
            let e = ac.skip_ac[(buf >> (64 - FAST_BITS)) as usize];
            let (n, advance) = if e != 0 {
                ((e & 0xFF) as u32, (e >> 8) as usize)
            } else {
                // A code longer than the lookahead.
                let (len, rs) = Self::decode_local(ac, buf);
                let (run, size) = ((rs >> 4) as usize, (rs & 15) as u32);
                (len + size, skip_advance(run, size))
            };
            buf <<= n;
            nbits -= n;
            i += advance;
        }
        self.buf = buf;
        self.nbits = nbits;
        self.pos = pos;
    }

    #[inline(always)]
    fn block_impl<const STORE: bool>(
        &mut self,
        dc: &HuffTable,
        ac: &HuffTable,
        natural: &[usize; 80],
        blk: &mut [i16; 64],
    ) -> (i32, bool) {
        let (mut buf, mut nbits, mut pos) = (self.buf, self.nbits, self.pos);
        if nbits < 32 {
            self.refill_local(&mut buf, &mut nbits, &mut pos);
        }
        let (len, s) = Self::decode_local(dc, buf);
        buf <<= len;
        nbits -= len;
        let s = (s as u32).min(16);
        let mut diff = 0;
        if s != 0 {
            if nbits < s {
                self.refill_local(&mut buf, &mut nbits, &mut pos);
            }
            let v = (buf >> (64 - s)) as i32;
            buf <<= s;
            nbits -= s;
            diff = extend(v, s);
        }
        let mut i = 1usize;
        let mut any_ac = false;
        while i < 64 {
            if nbits < 32 {
                self.refill_local(&mut buf, &mut nbits, &mut pos);
            }
            let e = ac.fast_ac[(buf >> (64 - FAST_BITS)) as usize];
            if e != 0 {
                let n = (e & 0xFF) as u32;
                buf <<= n;
                nbits -= n;
                i += ((e >> 8) & 0xFF) as usize;
                if STORE {
                    blk[natural[i]] = (e >> 16) as i16;
                }
                any_ac = true;
                i += 1;
                continue;
            }
            let (len, rs) = Self::decode_local(ac, buf);
            buf <<= len;
            nbits -= len;
            let (run, size) = ((rs >> 4) as usize, (rs & 15) as u32);
            if size != 0 {
                // At least 16 bits remain: 32 before, at most 16 used.
                let v = (buf >> (64 - size)) as i32;
                buf <<= size;
                nbits -= size;
                i += run;
                if STORE {
                    blk[natural[i]] = extend(v, size) as i16;
                }
                any_ac = true;
                i += 1;
            } else if run == 15 {
                i += 16;
            } else {
                break;
            }
        }
        self.buf = buf;
        self.nbits = nbits;
        self.pos = pos;
        (diff, any_ac)
    }

    /// Drops buffered bits (restart marker or end of scan) and returns the
    /// offset where marker scanning should resume.
    pub(crate) fn discard(&mut self) -> usize {
        self.buf = 0;
        self.nbits = 0;
        self.pad_bits = 0;
        self.pos
    }

    /// True once decoding has used bits past the end of the data (the
    /// zero bits supplied after a marker).
    #[inline]
    pub(crate) fn consumed_padding(&self) -> bool {
        (self.nbits as u64) < self.pad_bits
    }

    /// Handles a restart: drops buffered bits, consumes an RSTn marker if
    /// one is next (after any junk bytes), and resumes reading after it.
    /// Any other marker is left in place and zero bits are supplied.
    pub(crate) fn restart(&mut self) {
        self.discard();
        let mut i = self.pos;
        loop {
            match (self.data.get(i), self.data.get(i + 1)) {
                (Some(&0xFF), Some(&m)) if m != 0 && m != 0xFF => {
                    if (0xD0..=0xD7).contains(&m) {
                        self.pos = i + 2;
                        self.marker_hit = false;
                    } else {
                        self.pos = i;
                        self.marker_hit = true;
                    }
                    return;
                }
                (Some(_), Some(_)) => i += 1,
                _ => {
                    self.pos = self.data.len();
                    self.marker_hit = true;
                    self.eof = true;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_and_marker() {
        let data = [0xAB, 0xFF, 0x00, 0x12, 0xFF, 0xD9];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.bits(8), 0xAB);
        assert_eq!(r.bits(8), 0xFF);
        assert_eq!(r.bits(8), 0x12);
        assert_eq!(r.bits(16), 0);
        assert!(r.marker_hit);
        assert!(!r.eof);
        assert_eq!(r.pos, 4);
    }

    #[test]
    fn eof_is_flagged() {
        let data = [0x12];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.bits(8), 0x12);
        assert!(r.eof);
    }

    #[test]
    fn huffman_roundtrip() {
        // Codes: len 2: 00 -> 5, 01 -> 6; len 3: 100 -> 7; len 12: ...
        let mut counts = [0u8; 16];
        counts[1] = 2;
        counts[2] = 1;
        counts[11] = 1;
        let t = HuffTable::new(&counts, &[5, 6, 7, 9]).unwrap();
        // 00 01 100 101000000000 (12-bit code is 1010_0000_0000)
        // bits: 0001100 101000000000 then padding
        let bitsstr = "0001100101000000000";
        let mut bytes = vec![];
        let mut acc = 0u32;
        let mut n = 0;
        for ch in bitsstr.chars().chain(std::iter::repeat_n('1', 5)) {
            acc = (acc << 1) | (ch == '1') as u32;
            n += 1;
            if n == 8 {
                bytes.push(acc as u8);
                acc = 0;
                n = 0;
            }
        }
        let mut r = BitReader::new(&bytes, 0);
        assert_eq!(r.decode(&t), 5);
        assert_eq!(r.decode(&t), 6);
        assert_eq!(r.decode(&t), 7);
        assert_eq!(r.decode(&t), 9);
    }
}

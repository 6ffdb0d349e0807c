//! Marker parsing: headers, tables, frames and scans, driving the
//! entropy decoding of [`super::scans`].

use super::*;

pub(super) struct Decoder<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) max_side: u32,
    pub(super) max_pixels: u64,
    pub(super) qt: [Option<[u16; 64]>; 4],
    pub(super) dc_tables: [Option<HuffTable>; 4],
    pub(super) ac_tables: [Option<HuffTable>; 4],
    pub(super) restart_interval: usize,
    pub(super) jfif: bool,
    pub(super) adobe: Option<u8>,
    pub(super) frame: Option<Frame>,
    pub(super) scans: usize,
    /// Output samples per block side: 8, or 4, 2, 1 at reduced scale.
    pub(super) block: usize,
    /// Luma only was asked for (see [`decode_planes_with`]).
    pub(super) luma_only: bool,
    /// Luma only is being done: decided at the first scan, once the
    /// colour-space hints that come before it are known.
    pub(super) dropped_chroma: bool,
}

/// Finds the next marker at or after `pos`, skipping junk and fill bytes.
/// Returns the marker code and the offset just past it.
pub(super) fn next_marker(bytes: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    while pos + 1 < bytes.len() {
        if bytes[pos] == 0xFF {
            let m = bytes[pos + 1];
            if m != 0 && m != 0xFF {
                return Some((m, pos + 2));
            }
        }
        pos += 1;
    }
    None
}

pub(super) fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]) as usize)
}

impl<'a> Decoder<'a> {
    pub(super) fn new(bytes: &'a [u8], max_side: u32, max_pixels: u64) -> Self {
        Decoder {
            bytes,
            max_side,
            max_pixels,
            qt: [None; 4],
            dc_tables: [None, None, None, None],
            ac_tables: [None, None, None, None],
            restart_interval: 0,
            jfif: false,
            adobe: None,
            frame: None,
            scans: 0,
            block: 8,
            luma_only: false,
            dropped_chroma: false,
        }
    }

    pub(super) fn run(mut self) -> Result<Planes, MediaError> {
        let bytes = self.bytes;
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return Err(MediaError::NotAnImage);
        }
        let mut pos = 2;
        loop {
            let (m, after) = next_marker(bytes, pos)
                .ok_or_else(|| truncated("the file ends before the JPEG end-of-image marker"))?;
            pos = after;
            match m {
                0xD9 => break,
                0xD8 => return Err(corrupt("second start-of-image marker")),
                0xD0..=0xD7 | 0x01 => continue,
                _ => {}
            }
            let len = be16(bytes, pos).ok_or_else(|| truncated("the file ends inside a marker"))?;
            if len < 2 {
                return Err(corrupt("bad marker length"));
            }
            let seg = bytes
                .get(pos + 2..pos + len)
                .ok_or_else(|| truncated("the file ends inside a marker segment"))?;
            pos += len;
            match m {
                0xC0..=0xC2 => self.frame_header(seg, m == 0xC2)?,
                0xC3 | 0xC5..=0xC7 | 0xCB | 0xCD..=0xCF => {
                    return Err(unsupported("lossless or hierarchical JPEG"))
                }
                0xC9 | 0xCA => return Err(unsupported("arithmetic-coded JPEG")),
                0xC4 => self.huffman_tables(seg)?,
                0xCC => return Err(unsupported("arithmetic-coded JPEG")),
                0xDB => self.quant_tables(seg)?,
                0xDD => {
                    self.restart_interval =
                        be16(seg, 0).ok_or_else(|| corrupt("bad restart interval"))?;
                }
                0xDA => {
                    if self.scans >= MAX_SCANS {
                        return Err(unsupported("JPEG with more than 1000 scans"));
                    }
                    if self.scans == 0 && self.luma_only {
                        self.drop_chroma();
                    }
                    let scan = self.scan_header(seg)?;
                    pos = self.decode_scan(&scan, pos)?;
                    self.scans += 1;
                }
                // Colour-space hints count only before the first scan, where
                // libjpeg reads them.
                0xE0 if self.scans == 0 && seg.len() >= 14 && seg.starts_with(b"JFIF\0") => {
                    self.jfif = true;
                }
                0xEE if self.scans == 0 && seg.len() >= 12 && seg.starts_with(b"Adobe") => {
                    self.adobe = Some(seg[11]);
                }
                _ => {}
            }
        }
        if self.scans == 0 {
            return Err(corrupt("no image data"));
        }
        self.output()
    }

    fn frame_header(&mut self, seg: &[u8], progressive: bool) -> Result<(), MediaError> {
        if self.frame.is_some() {
            return Err(corrupt("more than one frame header"));
        }
        if seg.len() < 6 {
            return Err(corrupt("short frame header"));
        }
        if seg[0] != 8 {
            return Err(unsupported("JPEG sample precision other than 8 bits"));
        }
        let height = u16::from_be_bytes([seg[1], seg[2]]) as usize;
        let width = u16::from_be_bytes([seg[3], seg[4]]) as usize;
        let n = seg[5] as usize;
        if height == 0 {
            return Err(unsupported("JPEG height defined by a DNL marker"));
        }
        if width == 0 {
            return Err(corrupt("image width is zero"));
        }
        match n {
            1 | 3 => {}
            4 => return Err(unsupported("4-component (CMYK/YCCK) JPEG")),
            _ => return Err(unsupported("JPEG with an unusual number of components")),
        }
        if seg.len() < 6 + 3 * n {
            return Err(corrupt("short frame header"));
        }
        let (w32, h32) = (width as u32, height as u32);
        if w32 > self.max_side || h32 > self.max_side || w32 as u64 * h32 as u64 > self.max_pixels {
            return Err(MediaError::TooLarge {
                width: w32,
                height: h32,
                max_pixels: self.max_pixels,
                max_side: self.max_side,
            });
        }
        let mut comps = Vec::with_capacity(n);
        for i in 0..n {
            let c = &seg[6 + 3 * i..9 + 3 * i];
            let (h, v, tq) = ((c[1] >> 4) as usize, (c[1] & 15) as usize, c[2] as usize);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                return Err(corrupt("bad sampling factors"));
            }
            if tq > 3 {
                return Err(corrupt("bad quantisation table number"));
            }
            if comps.iter().any(|x: &Component| x.id == c[0]) {
                return Err(corrupt("duplicate component id"));
            }
            comps.push(Component {
                id: c[0],
                h,
                v,
                tq,
                bw: 0,
                bh: 0,
                dw: 0,
                dh: 0,
                bs: self.block,
                q: None,
                plane: Vec::new(),
                coefs: Vec::new(),
                covered: false,
                skip: false,
            });
        }
        let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
        if comps.iter().any(|c| hmax % c.h != 0 || vmax % c.v != 0) {
            return Err(unsupported("fractional chroma sampling"));
        }
        let mcux = width.div_ceil(8 * hmax);
        let mcuy = height.div_ceil(8 * vmax);
        for c in &mut comps {
            c.dw = (width * c.h).div_ceil(hmax);
            c.dh = (height * c.v).div_ceil(vmax);
            c.bw = mcux * c.h;
            c.bh = mcuy * c.v;
            if progressive {
                c.coefs = pool::take_i16(c.bw * c.bh * 64);
                c.coefs.fill(0);
            } else {
                // Written block by block by the scans; any part that output
                // reads and no scan wrote is set to mid-grey (the decode of
                // libjpeg's zeroed coefficients) then.
                c.plane = pool::take_u8(c.bw * c.bh * c.bs * c.bs);
            }
        }
        self.frame = Some(Frame {
            width,
            height,
            progressive,
            comps,
            hmax,
            vmax,
            mcux,
            mcuy,
        });
        Ok(())
    }

    fn huffman_tables(&mut self, mut seg: &[u8]) -> Result<(), MediaError> {
        while !seg.is_empty() {
            if seg.len() < 17 {
                return Err(corrupt("short Huffman table"));
            }
            let (tc, th) = (seg[0] >> 4, (seg[0] & 15) as usize);
            if tc > 1 || th > 3 {
                return Err(corrupt("bad Huffman table number"));
            }
            let mut counts = [0u8; 16];
            counts.copy_from_slice(&seg[1..17]);
            let total: usize = counts.iter().map(|&c| c as usize).sum();
            let values = seg
                .get(17..17 + total)
                .ok_or_else(|| corrupt("short Huffman table"))?;
            let t = HuffTable::new(&counts, values)?;
            if tc == 0 {
                self.dc_tables[th] = Some(t);
            } else {
                self.ac_tables[th] = Some(t);
            }
            seg = &seg[17 + total..];
        }
        Ok(())
    }

    fn quant_tables(&mut self, mut seg: &[u8]) -> Result<(), MediaError> {
        while !seg.is_empty() {
            let (pq, tq) = (seg[0] >> 4, (seg[0] & 15) as usize);
            if pq > 1 || tq > 3 {
                return Err(corrupt("bad quantisation table"));
            }
            let size = if pq == 0 { 64 } else { 128 };
            let data = seg
                .get(1..1 + size)
                .ok_or_else(|| corrupt("short quantisation table"))?;
            let mut t = [0u16; 64];
            for k in 0..64 {
                t[NATURAL[k]] = if pq == 0 {
                    data[k] as u16
                } else {
                    u16::from_be_bytes([data[2 * k], data[2 * k + 1]])
                };
            }
            self.qt[tq] = Some(t);
            seg = &seg[1 + size..];
        }
        Ok(())
    }

    fn scan_header(&mut self, seg: &[u8]) -> Result<Scan, MediaError> {
        let frame = self
            .frame
            .as_mut()
            .ok_or_else(|| corrupt("scan before frame header"))?;
        let n = *seg.first().ok_or_else(|| corrupt("short scan header"))? as usize;
        if n == 0 || n > 4 || seg.len() < 4 + 2 * n {
            return Err(corrupt("bad scan header"));
        }
        let mut comps: Vec<ScanComp> = Vec::with_capacity(n);
        for i in 0..n {
            let (id, tables) = (seg[1 + 2 * i], seg[2 + 2 * i]);
            let ci = frame
                .comps
                .iter()
                .position(|c| c.id == id)
                .ok_or_else(|| corrupt("scan names an unknown component"))?;
            if comps.iter().any(|c| c.ci == ci) {
                return Err(corrupt("scan names a component twice"));
            }
            let (dc, ac) = ((tables >> 4) as usize, (tables & 15) as usize);
            if dc > 3 || ac > 3 {
                return Err(corrupt("bad Huffman table number"));
            }
            comps.push(ScanComp { ci, dc, ac });
        }
        let p = 1 + 2 * n;
        let (ss, se, ah, al) = (
            seg[p] as usize,
            seg[p + 1] as usize,
            (seg[p + 2] >> 4) as u32,
            (seg[p + 2] & 15) as u32,
        );
        let scan = Scan {
            comps,
            ss,
            se,
            ah,
            al,
        };
        let blocks_in_mcu: usize = scan
            .comps
            .iter()
            .map(|c| frame.comps[c.ci].h * frame.comps[c.ci].v)
            .sum();
        if scan.comps.len() > 1 && blocks_in_mcu > 10 {
            return Err(corrupt("too many blocks in an MCU"));
        }
        let (need_dc, need_ac) = if frame.progressive {
            if ss == 0 {
                if se != 0 {
                    return Err(corrupt("bad progression"));
                }
            } else if se < ss || se > 63 || scan.comps.len() != 1 {
                return Err(corrupt("bad progression"));
            }
            if ah > 13 || al > 13 || (ah != 0 && al + 1 != ah) {
                return Err(corrupt("bad progression"));
            }
            (ss == 0 && ah == 0, ss != 0)
        } else {
            (true, true)
        };
        for c in &scan.comps {
            if need_dc {
                match &self.dc_tables[c.dc] {
                    None => return Err(corrupt("missing Huffman table")),
                    Some(t) if t.max_symbol > 15 => return Err(corrupt("bad Huffman table")),
                    Some(_) => {}
                }
            }
            if need_ac && self.ac_tables[c.ac].is_none() {
                return Err(corrupt("missing Huffman table"));
            }
            // Latch the quantisation table at the component's first scan.
            let comp = &mut frame.comps[c.ci];
            if comp.q.is_none() {
                let t = self.qt[comp.tq].ok_or_else(|| corrupt("missing quantisation table"))?;
                let mut q = [0i32; 64];
                for (d, &s) in q.iter_mut().zip(&t) {
                    // libjpeg-turbo keeps the multipliers as 16-bit shorts.
                    *d = s as i16 as i32;
                }
                comp.q = Some(q);
            }
        }
        Ok(scan)
    }

    /// Decodes one scan starting at `pos`; returns where marker parsing
    /// resumes.
    fn decode_scan(&mut self, scan: &Scan, pos: usize) -> Result<usize, MediaError> {
        let frame = self
            .frame
            .as_mut()
            .ok_or_else(|| corrupt("scan before frame header"))?;
        let mut reader = BitReader::new(self.bytes, pos);
        let ri = self.restart_interval;
        let empty = HuffTable::empty();
        let dc: Vec<&HuffTable> = scan
            .comps
            .iter()
            .map(|c| self.dc_tables[c.dc].as_ref().unwrap_or(&empty))
            .collect();
        let ac: Vec<&HuffTable> = scan
            .comps
            .iter()
            .map(|c| self.ac_tables[c.ac].as_ref().unwrap_or(&empty))
            .collect();
        if !frame.progressive {
            let mut st = Sequential {
                dc,
                ac,
                avx2: Avx2::detect(),
                pred: vec![0; scan.comps.len()],
                fill: scan
                    .comps
                    .iter()
                    .map(|c| !frame.comps[c.ci].covered)
                    .collect(),
            };
            walk_sequential(frame, scan, &mut reader, ri, &mut st);
            for c in &scan.comps {
                frame.comps[c.ci].covered = true;
            }
        } else if scan.ss == 0 {
            let mut st = DcScan {
                dc,
                pred: vec![0; scan.comps.len()],
                ah: scan.ah,
                al: scan.al,
            };
            walk_dc(frame, scan, &mut reader, ri, &mut st);
        } else {
            let mut st = AcScan {
                ac: ac[0],
                ss: scan.ss,
                se: scan.se,
                ah: scan.ah,
                al: scan.al,
                eobrun: 0,
            };
            walk_ac(frame, scan, &mut reader, ri, &mut st);
        }
        if reader.eof {
            return Err(truncated("the file ends inside the image data"));
        }
        Ok(reader.discard())
    }

    fn output(mut self) -> Result<Planes, MediaError> {
        let frame = self
            .frame
            .as_mut()
            .ok_or_else(|| corrupt("no frame header"))?;
        for c in &mut frame.comps {
            if c.skip {
                continue;
            }
            if frame.progressive {
                let mut plane = pool::take_u8(c.bw * c.bh * c.bs * c.bs);
                transform_plane(c, &mut plane);
                pool::give_u8(std::mem::replace(&mut c.plane, plane));
                pool::give_i16(std::mem::take(&mut c.coefs));
            } else if !c.covered {
                c.plane.fill(128);
            }
        }
        let bs = self.block;
        // Sizes at the output scale, as libjpeg rounds them.
        let (w, h) = (
            (frame.width * bs).div_ceil(8),
            (frame.height * bs).div_ceil(8),
        );
        let kind = if self.dropped_chroma {
            frame.comps.truncate(1);
            OutKind::Grey
        } else {
            out_kind(frame, self.jfif, self.adobe)
        };
        let (hmax, vmax) = (frame.hmax, frame.vmax);
        let comps = frame
            .comps
            .iter_mut()
            .map(|c| {
                let dw = (frame.width * c.h * bs).div_ceil(hmax * 8);
                let dh = (frame.height * c.v * bs).div_ceil(vmax * 8);
                OutPlane {
                    data: std::mem::take(&mut c.plane),
                    stride: c.bw * bs,
                    dw,
                    dh,
                    method: if kind == OutKind::Grey {
                        Method::Full
                    } else {
                        Method::choose(hmax / c.h, vmax / c.v, dw)
                    },
                }
            })
            .collect();
        let row = |on: bool| if on { vec![0u8; w] } else { Vec::new() };
        let three = kind != OutKind::Grey;
        Ok(Planes {
            width: w,
            height: h,
            kind,
            comps,
            rows: [row(three), row(three), row(three)],
            scratch: Scratch::default(),
            avx2: Avx2::detect(),
            luma_only: self.dropped_chroma,
        })
    }

    /// Starts a luma-only decode when it was asked for and the image is
    /// YCbCr with full-resolution luma: the chroma components are marked
    /// to be skipped and their planes returned to the pool.
    fn drop_chroma(&mut self) {
        let Some(frame) = self.frame.as_mut() else {
            return;
        };
        let ycc = frame.comps.len() == 3 && out_kind(frame, self.jfif, self.adobe) == OutKind::Ycc;
        let (hmax, vmax) = (frame.hmax, frame.vmax);
        if !ycc || frame.comps[0].h != hmax || frame.comps[0].v != vmax {
            return;
        }
        for c in &mut frame.comps[1..] {
            c.skip = true;
            pool::give_u8(std::mem::take(&mut c.plane));
        }
        self.dropped_chroma = true;
    }
}

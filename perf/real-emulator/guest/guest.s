	.attribute	4, 16
	.attribute	5, "rv32i2p1_m2p0_zmmul1p0"
	.file	"guest.82defae1e437f082-cgu.0"
	.section	.text._RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind,"ax",@progbits
	.hidden	_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind
	.globl	_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind
	.p2align	2
	.type	_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind,@function
_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind:
	#APP
	unimp
	#NO_APP
	unimp
.Lfunc_end0:
	.size	_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind, .Lfunc_end0-_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind

	.section	.text._ZN5guest5round17h9bc606801147b332E,"ax",@progbits
	.p2align	2
	.type	_ZN5guest5round17h9bc606801147b332E,@function
_ZN5guest5round17h9bc606801147b332E:
	addi	sp, sp, -64
	sw	ra, 60(sp)
	sw	s0, 56(sp)
	sw	s1, 52(sp)
	sw	s2, 48(sp)
	sw	s3, 44(sp)
	sw	s4, 40(sp)
	sw	s5, 36(sp)
	sw	s6, 32(sp)
	sw	s7, 28(sp)
	sw	s8, 24(sp)
	sw	s9, 20(sp)
	sw	s10, 16(sp)
	sw	s11, 12(sp)
	lui	a2, 247535
	lui	a1, %hi(.L_MergedGlobals)
	addi	a1, a1, %lo(.L_MergedGlobals)
	lui	a3, 406
	addi	a5, a2, 863
	addi	a2, a1, 768
	addi	a7, a3, 1549
	addi	a6, a1, 1152
.LBB1_1:
	mul	a0, a0, a7
	add	a0, a0, a5
	sw	a0, 0(a2)
	addi	a2, a2, 4
	bne	a2, a6, .LBB1_1
	addi	a2, a1, 772
	li	a4, 1
	li	a3, 96
	j	.LBB1_4
.LBB1_3:
	slli	t1, t1, 2
	add	t1, a1, t1
	sw	t0, 768(t1)
	addi	a2, a2, 4
	beq	a4, a3, .LBB1_7
.LBB1_4:
	mv	t1, a4
	slli	a4, a4, 2
	add	a4, a1, a4
	lw	t0, 768(a4)
	addi	a4, t1, 1
	mv	t2, a2
.LBB1_5:
	lw	t3, -4(t2)
	bgeu	t0, t3, .LBB1_3
	addi	t1, t1, -1
	sw	t3, 0(t2)
	addi	t2, t2, -4
	bnez	t1, .LBB1_5
	j	.LBB1_3
.LBB1_7:
	lw	a3, 768(a1)
	lw	a4, 960(a1)
	lw	a2, 1148(a1)
	addi	t0, a1, 1664
.LBB1_8:
	mul	a0, a0, a7
	add	a0, a0, a5
	srli	t1, a0, 24
	sb	t1, 0(a6)
	addi	a6, a6, 1
	bne	a6, t0, .LBB1_8
	addi	t2, a1, 1152
	li	a6, -1
	lui	t3, %hi(_ZN5guest9CRC_TABLE17h415d1df7bf419e43E)
	addi	t3, t3, %lo(_ZN5guest9CRC_TABLE17h415d1df7bf419e43E)
.LBB1_10:
	lbu	t4, 0(t2)
	xor	t4, t4, a6
	zext.b	t4, t4
	slli	t4, t4, 2
	add	t4, t3, t4
	lw	t4, 0(t4)
	srli	a6, a6, 8
	addi	t2, t2, 1
	xor	a6, t4, a6
	bne	t2, t0, .LBB1_10
	addi	t3, a1, 1152
	lui	t2, %hi(_ZN5guest4HIST17h31ca14d917240b22E)
	addi	t2, t2, %lo(_ZN5guest4HIST17h31ca14d917240b22E)
.LBB1_12:
	lbu	t4, 0(t3)
	addi	t3, t3, 1
	slli	t4, t4, 1
	add	t4, t2, t4
	lh	t5, 0(t4)
	addi	t5, t5, 1
	sh	t5, 0(t4)
	bne	t3, t0, .LBB1_12
	slli	t1, t1, 1
	add	t1, t2, t1
	lhu	t0, 0(t1)
	addi	t1, a1, 1663
	addi	t2, a1, 1152
	addi	t3, a1, 1407
.LBB1_14:
	lbu	t4, 0(t1)
	lbu	t5, 0(t2)
	sb	t4, 0(t2)
	sb	t5, 0(t1)
	addi	t1, t1, -1
	addi	t2, t2, 1
	bne	t1, t3, .LBB1_14
	lui	t3, 16
	lbu	t1, 1152(a1)
	addi	t3, t3, -1
	addi	t4, a1, 256
	addi	t2, a1, 512
.LBB1_16:
	mul	a0, a0, a7
	add	a0, a0, a5
	and	t5, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	t6, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s0, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s1, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s2, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s3, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s4, a0, t3
	mul	a0, a0, a7
	sw	t5, -256(t4)
	sw	s0, -252(t4)
	sw	s2, -248(t4)
	sw	s4, -244(t4)
	add	a0, a0, a5
	and	t5, a0, t3
	mul	a0, a0, a7
	sw	t6, 0(t4)
	sw	s1, 4(t4)
	sw	s3, 8(t4)
	sw	t5, 12(t4)
	add	a0, a0, a5
	and	t5, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	t6, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s0, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s1, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s2, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s3, a0, t3
	mul	a0, a0, a7
	add	a0, a0, a5
	and	s4, a0, t3
	mul	a0, a0, a7
	sw	t5, -240(t4)
	sw	s0, -236(t4)
	sw	s2, -232(t4)
	sw	s4, -228(t4)
	add	a0, a0, a5
	and	t5, a0, t3
	sw	t6, 16(t4)
	sw	s1, 20(t4)
	sw	s3, 24(t4)
	sw	t5, 28(t4)
	addi	t4, t4, 32
	bne	t4, t2, .LBB1_16
	li	a0, 0
	addi	a5, a1, 256
	li	a7, 8
.LBB1_18:
	slli	t3, a0, 5
	add	s4, a1, t3
	lw	t3, 0(s4)
	lw	t4, 4(s4)
	lw	t5, 8(s4)
	lw	t6, 12(s4)
	lw	s0, 16(s4)
	lw	s1, 20(s4)
	lw	s2, 24(s4)
	lw	s3, 28(s4)
	addi	s4, s4, 544
	mv	s5, a5
	mv	s6, t2
.LBB1_19:
	lw	s7, 0(s5)
	lw	s8, 32(s5)
	lw	s9, 64(s5)
	lw	s10, 96(s5)
	mul	s7, s7, t3
	mul	s8, s8, t4
	mul	s9, s9, t5
	mul	s10, s10, t6
	add	s7, s8, s7
	add	s9, s10, s9
	lw	s8, 128(s5)
	lw	s10, 160(s5)
	lw	s11, 192(s5)
	lw	ra, 224(s5)
	mul	s8, s8, s0
	mul	s10, s10, s1
	add	s8, s10, s8
	add	s7, s9, s7
	mul	s9, s11, s2
	add	s8, s9, s8
	mul	s9, ra, s3
	add	s7, s8, s7
	add	s7, s9, s7
	sw	s7, 0(s6)
	addi	s6, s6, 4
	addi	s5, s5, 4
	bne	s6, s4, .LBB1_19
	addi	a0, a0, 1
	addi	t2, t2, 32
	bne	a0, a7, .LBB1_18
	xor	a3, a3, a4
	lw	a0, 764(a1)
	lw	a1, 512(a1)
	xor	a2, a3, a2
	xor	a2, a2, a6
	not	a2, a2
	add	a2, t0, a2
	add	a2, a2, t1
	xor	a0, a1, a0
	add	a0, a2, a0
	lw	ra, 60(sp)
	lw	s0, 56(sp)
	lw	s1, 52(sp)
	lw	s2, 48(sp)
	lw	s3, 44(sp)
	lw	s4, 40(sp)
	lw	s5, 36(sp)
	lw	s6, 32(sp)
	lw	s7, 28(sp)
	lw	s8, 24(sp)
	lw	s9, 20(sp)
	lw	s10, 16(sp)
	lw	s11, 12(sp)
	addi	sp, sp, 64
	ret
.Lfunc_end1:
	.size	_ZN5guest5round17h9bc606801147b332E, .Lfunc_end1-_ZN5guest5round17h9bc606801147b332E

	.section	.text.start,"ax",@progbits
	.globl	_start
	.p2align	2
	.type	_start,@function
_start:
	addi	sp, sp, -32
	sw	ra, 28(sp)
	sw	s0, 24(sp)
	sw	s1, 20(sp)
	sw	s2, 16(sp)
	sw	s3, 12(sp)
	sw	s4, 8(sp)
	mv	s0, a1
	beqz	a0, .LBB2_3
	mv	s1, a0
	li	s2, 0
	li	a0, 0
	lui	s3, 648056
	addi	s3, s3, -1607
.LBB2_2:
	srli	a1, a0, 27
	slli	a2, a0, 5
	or	s4, a2, a1
	xor	a0, s2, a0
	call	_ZN5guest5round17h9bc606801147b332E
	xor	a0, a0, s4
	addi	s1, s1, -1
	add	s2, s2, s3
	bnez	s1, .LBB2_2
.LBB2_3:
	sw	a0, 0(s0)
	#APP
	unimp
	#NO_APP
	unimp
.Lfunc_end2:
	.size	_start, .Lfunc_end2-_start

	.type	_ZN5guest4HIST17h31ca14d917240b22E,@object
	.section	.bss._ZN5guest4HIST17h31ca14d917240b22E,"aw",@nobits
	.p2align	1, 0x0
_ZN5guest4HIST17h31ca14d917240b22E:
	.zero	512
	.size	_ZN5guest4HIST17h31ca14d917240b22E, 512

	.type	_ZN5guest9CRC_TABLE17h415d1df7bf419e43E,@object
	.section	.rodata._ZN5guest9CRC_TABLE17h415d1df7bf419e43E,"a",@progbits
	.p2align	2, 0x0
_ZN5guest9CRC_TABLE17h415d1df7bf419e43E:
	.ascii	"\000\000\000\000\2260\007w,a\016\356\272Q\t\231\031\304m\007\217\364jp5\245c\351\243\225d\2362\210\333\016\244\270\334y\036\351\325\340\210\331\322\227+L\266\t\275|\261~\007-\270\347\221\035\277\220d\020\267\035\362 \260jHq\271\363\336A\276\204}\324\332\032\353\344\335mQ\265\324\364\307\205\323\203V\230l\023\300\250kdz\371b\375\354\311e\212O\\\001\024\331l\006cc=\017\372\365\r\b\215\310 n;^\020iL\344A`\325rqg\242\321\344\003<G\324\004K\375\205\r\322k\265\n\245\372\250\2655l\230\262B\326\311\273\333@\371\274\254\343l\3302u\\\337E\317\r\326\334Y=\321\253\2540\331&:\000\336Q\200Q\327\310\026a\320\277\265\364\264!#\304\263V\231\225\272\317\017\245\275\270\236\270\002(\b\210\005_\262\331\f\306$\351\013\261\207|o/\021LhX\253\035a\301=-f\266\220A\334v\006q\333\001\274 \322\230*\020\325\357\211\205\261q\037\265\266\006\245\344\277\2373\324\270\350\242\311\007x4\371\000\017\216\250\t\226\030\230\016\341\273\rj\177-=m\b\227ld\221\001\\c\346\364Qkkbal\034\3300e\205N\000b\362\355\225\006l{\245\001\033\301\364\b\202W\304\017\365\306\331\260eP\351\267\022\352\270\276\213|\210\271\374\337\035\335bI-\332\025\363|\323\214eL\324\373Xa\262M\316Q\265:t\000\274\243\3420\273\324A\245\337J\327\225\330=m\304\321\244\373\364\326\323j\351iC\374\331n4F\210g\255\320\270`\332s-\004D\345\035\0033_L\n\252\311|\r\335<q\005P\252A\002'\020\020\013\276\206 \f\311%\265hW\263\205o \t\324f\271\237\344a\316\016\371\336^\230\311\331)\"\230\320\260\264\250\327\307\027=\263Y\201\r\264.;\\\275\267\255l\272\300 \203\270\355\266\263\277\232\f\342\266\003\232\322\261t9G\325\352\257w\322\235\025&\333\004\203\026\334s\022\013c\343\204;d\224>jm\r\250Zjz\013\317\016\344\235\377\t\223'\256\000\n\261\236\007}D\223\017\360\322\243\b\207h\362\001\036\376\302\006i]Wb\367\313ge\200q6l\031\347\006knv\033\324\376\340+\323\211Zz\332\020\314J\335go\337\271\371\371\357\276\216C\276\267\027\325\216\260`\350\243\326\326~\223\321\241\304\302\3308R\362\337O\361g\273\321gW\274\246\335\006\265?K6\262H\332+\r\330L\033\n\257\366J\0036`z\004A\303\357`\337U\337g\250\357\216n1y\276iF\214\263a\313\032\203f\274\240\322o%6\342hR\225w\f\314\003G\013\273\271\026\002\"/&\005U\276;\272\305(\013\275\262\222Z\264+\004j\263\\\247\377\327\3021\317\320\265\213\236\331,\035\256\336[\260\302d\233&\362c\354\234\243ju\n\223m\002\251\006\t\234?6\016\353\205g\007r\023W\000\005\202J\277\225\024z\270\342\256+\261{8\033\266\f\233\216\322\222\r\276\325\345\267\357\334|!\337\333\013\324\322\323\206B\342\324\361\370\263\335hn\203\332\037\315\026\276\201[&\271\366\341w\260owG\267\030\346Z\b\210pj\017\377\312;\006f\\\013\001\021\377\236e\217i\256b\370\323\377kaE\317l\026x\342\n\240\356\322\r\327T\203\004N\302\263\0039a&g\247\367\026`\320MGiI\333wn>Jj\321\256\334Z\326\331f\013\337@\360;\3307S\256\274\251\305\236\273\336\177\317\262G\351\377\2650\034\362\275\275\212\302\272\3120\223\263S\246\243\264$\0056\320\272\223\006\327\315)W\336T\277g\331#.zf\263\270Ja\304\002\033h]\224+o*7\276\013\264\241\216\f\303\033\337\005Z\215\357\002-"
	.size	_ZN5guest9CRC_TABLE17h415d1df7bf419e43E, 1024

	.type	.L_MergedGlobals,@object
	.section	.bss..L_MergedGlobals,"aw",@nobits
	.p2align	2, 0x0
.L_MergedGlobals:
	.zero	1664
	.size	.L_MergedGlobals, 1664

_ZN5guest2MA17h7fa3dc284cfa72b1E = .L_MergedGlobals
	.size	_ZN5guest2MA17h7fa3dc284cfa72b1E, 256
_ZN5guest2MB17h7187ca2b6fb89be4E = .L_MergedGlobals+256
	.size	_ZN5guest2MB17h7187ca2b6fb89be4E, 256
_ZN5guest2MC17h73428c971fc093f6E = .L_MergedGlobals+512
	.size	_ZN5guest2MC17h73428c971fc093f6E, 256
_ZN5guest5WORDS17ha5e84c51c1ae9142E = .L_MergedGlobals+768
	.size	_ZN5guest5WORDS17ha5e84c51c1ae9142E, 384
_ZN5guest3BUF17h9a72c238c48fffc9E = .L_MergedGlobals+1152
	.size	_ZN5guest3BUF17h9a72c238c48fffc9E, 512
	.ident	"rustc version 1.95.0 (59807616e 2026-04-14)"
	.section	".note.GNU-stack","",@progbits

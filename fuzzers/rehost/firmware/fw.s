
Disassembly of section .text:

00000000 <_start>:
       0:      	lui	sp, 0x20010

00000004 <.Lpcrel_hi0>:
       4:      	auipc	t0, 0x1
       8:      	addi	t0, t0, -0x6d4

0000000c <.Lpcrel_hi1>:
       c:      	auipc	t1, 0x20001
      10:      	addi	t1, t1, -0xc

00000014 <.Lpcrel_hi2>:
      14:      	auipc	t2, 0x20001
      18:      	addi	t2, t2, -0x10
      1c:      	bgeu	t1, t2, 0x34 <.Lline_table_start0+0x34>
      20:      	lw	t3, 0x0(t0)
      24:      	sw	t3, 0x0(t1)
      28:      	addi	t0, t0, 0x4
      2c:      	addi	t1, t1, 0x4
      30:      	j	0x1c <.Lline_table_start0+0x1c>

00000034 <.Lpcrel_hi3>:
      34:      	auipc	t1, 0x20001
      38:      	addi	t1, t1, -0x30

0000003c <.Lpcrel_hi4>:
      3c:      	auipc	t2, 0x20001
      40:      	addi	t2, t2, 0xe8
      44:      	bgeu	t1, t2, 0x54 <.Lline_table_start0+0x54>
      48:      	sw	zero, 0x0(t1)
      4c:      	addi	t1, t1, 0x4
      50:      	j	0x44 <.Lline_table_start0+0x44>
      54:      	auipc	ra, 0x0
      58:      	jalr	0x468(ra) <.Lline_table_start0+0x44e>
      5c:      	wfi
      60:      	j	0x5c <.Lline_table_start0+0x5c>

00000064 <_ZN2fw8dispatch17hc2c21ea2d3fe6fe5E>:
      64:      	addi	sp, sp, -0x10
      68:      	sw	ra, 0xc(sp)
      6c:      	sw	s0, 0x8(sp)
      70:      	sw	s1, 0x4(sp)
      74:      	lui	a3, 0x20001
      78:      	lw	a4, 0x4(a3)
      7c:      	addi	a0, a0, -0x1
      80:      	li	a5, 0x4
      84:      	addi	a4, a4, 0x1
      88:      	sw	a4, 0x4(a3)
      8c:      	lui	s0, 0x40011
      90:      	bltu	a5, a0, 0x26c <.Lline_table_start0+0x1fe>
      94:      	slli	a0, a0, 0x2
      98:      	lui	a3, 0x1
      9c:      	addi	a3, a3, -0x7f0
      a0:      	add	a0, a3, a0
      a4:      	lw	a0, 0x0(a0)
      a8:      	jr	a0
      ac:      	li	a0, 0x81
      b0:      	sw	a0, 0x8(s0)
      b4:      	beqz	a2, 0x450 <.Lline_table_start0+0x3e2>
      b8:      	lbu	a0, 0x0(a1)
      bc:      	addi	a1, a1, 0x1
      c0:      	addi	a2, a2, -0x1
      c4:      	sw	a0, 0x8(s0)
      c8:      	bnez	a2, 0xb8 <.Lline_table_start0+0x4a>
      cc:      	j	0x450 <.Lline_table_start0+0x3e2>
      d0:      	li	a0, 0x85
      d4:      	lui	a1, 0x20001
      d8:      	sw	a0, 0x8(s0)
      dc:      	lw	a0, 0x0(a1)
      e0:      	lui	a1, 0x20001
      e4:      	addi	a1, a1, 0x4
      e8:      	srli	a2, a0, 0x18
      ec:      	sw	a2, 0x8(s0)
      f0:      	slli	a2, a0, 0x8
      f4:      	srli	a2, a2, 0x18
      f8:      	sw	a2, 0x8(s0)
      fc:      	slli	a2, a0, 0x10
     100:      	zext.b	a0, a0
     104:      	srli	a2, a2, 0x18
     108:      	sw	a2, 0x8(s0)
     10c:      	sw	a0, 0x8(s0)
     110:      	lw	a0, 0x0(a1)
     114:      	srli	a2, a0, 0x18
     118:      	sw	a2, 0x8(s0)
     11c:      	slli	a2, a0, 0x8
     120:      	srli	a2, a2, 0x18
     124:      	sw	a2, 0x8(s0)
     128:      	slli	a2, a0, 0x10
     12c:      	zext.b	a0, a0
     130:      	srli	a2, a2, 0x18
     134:      	sw	a2, 0x8(s0)
     138:      	sw	a0, 0x8(s0)
     13c:      	lw	a0, 0x4(a1)
     140:      	srli	a2, a0, 0x18
     144:      	sw	a2, 0x8(s0)
     148:      	slli	a2, a0, 0x8
     14c:      	srli	a2, a2, 0x18
     150:      	sw	a2, 0x8(s0)
     154:      	slli	a2, a0, 0x10
     158:      	zext.b	a0, a0
     15c:      	srli	a2, a2, 0x18
     160:      	sw	a2, 0x8(s0)
     164:      	sw	a0, 0x8(s0)
     168:      	lw	a0, 0x8(a1)
     16c:      	srli	a1, a0, 0x18
     170:      	slli	a2, a0, 0x8
     174:      	sw	a1, 0x8(s0)
     178:      	slli	a1, a0, 0x10
     17c:      	srli	a2, a2, 0x18
     180:      	srli	a1, a1, 0x18
     184:      	sw	a2, 0x8(s0)
     188:      	sw	a1, 0x8(s0)
     18c:      	zext.b	a0, a0
     190:      	j	0x44c <.Lline_table_start0+0x3de>
     194:      	li	a0, 0x2
     198:      	bgeu	a0, a2, 0x28c <.Lline_table_start0+0x21e>
     19c:      	lui	s1, 0x20001
     1a0:      	addi	s1, s1, 0x4
     1a4:      	lw	a3, 0x8(s1)
     1a8:      	lbu	a0, 0x0(a1)
     1ac:      	addi	a3, a3, 0x1
     1b0:      	li	a4, 0x4b
     1b4:      	sw	a3, 0x8(s1)
     1b8:      	beq	a0, a4, 0x2fc <.Lline_table_start0+0x28e>
     1bc:      	li	a3, 0x52
     1c0:      	bne	a0, a3, 0x434 <.Lline_table_start0+0x3c6>
     1c4:      	lbu	a0, 0x1(a1)
     1c8:      	li	a3, 0x1
     1cc:      	beq	a0, a3, 0x464 <.Lline_table_start0+0x3f6>
     1d0:      	li	a2, 0x2
     1d4:      	bne	a0, a2, 0x4a0 <.Lline_table_start0+0x432>
     1d8:      	lbu	a3, 0x2(a1)
     1dc:      	li	a0, 0x83
     1e0:      	beqz	a3, 0x44c <.Lline_table_start0+0x3de>
     1e4:      	addi	a2, a1, 0x3
     1e8:      	add	a1, a3, a1
     1ec:      	addi	a1, a1, 0x3
     1f0:      	lui	a3, 0x20008
     1f4:      	addi	a3, a3, -0x40
     1f8:      	lbu	a4, 0x0(a2)
     1fc:      	addi	a2, a2, 0x1
     200:      	sb	a4, 0x0(a3)
     204:      	addi	a3, a3, 0x1
     208:      	bne	a2, a1, 0x1f8 <.Lline_table_start0+0x18a>
     20c:      	j	0x44c <.Lline_table_start0+0x3de>
     210:      	li	a0, 0x84
     214:      	sw	a0, 0x8(s0)
     218:      	li	a0, 0x0
     21c:      	beqz	a2, 0x44c <.Lline_table_start0+0x3de>
     220:      	lui	a3, 0x1
     224:      	addi	a3, a3, -0x7d0
     228:      	lbu	a4, 0x0(a1)
     22c:      	zext.b	a0, a0
     230:      	xor	a0, a4, a0
     234:      	add	a0, a3, a0
     238:      	lbu	a0, 0x0(a0)
     23c:      	addi	a2, a2, -0x1
     240:      	addi	a1, a1, 0x1
     244:      	bnez	a2, 0x228 <.Lline_table_start0+0x1ba>
     248:      	j	0x44c <.Lline_table_start0+0x3de>
     24c:      	li	a0, 0x3
     250:      	beq	a2, a0, 0x2ac <.Lline_table_start0+0x23e>
     254:      	li	a3, 0x2
     258:      	bne	a2, a3, 0x2e0 <.Lline_table_start0+0x272>
     25c:      	lbu	a1, 0x0(a1)
     260:      	li	a2, 0x10
     264:      	bgeu	a1, a2, 0x2e0 <.Lline_table_start0+0x272>
     268:      	j	0x2d8 <.Lline_table_start0+0x26a>
     26c:      	lui	a0, 0x20001
     270:      	lw	a1, 0x8(a0)
     274:      	addi	a1, a1, 0x1
     278:      	sw	a1, 0x8(a0)
     27c:      	li	a0, 0xee
     280:      	sw	a0, 0x8(s0)
     284:      	li	a0, 0x1
     288:      	j	0x44c <.Lline_table_start0+0x3de>
     28c:      	lui	a0, 0x20001
     290:      	lw	a1, 0x8(a0)
     294:      	addi	a1, a1, 0x1
     298:      	sw	a1, 0x8(a0)
     29c:      	li	a0, 0xee
     2a0:      	sw	a0, 0x8(s0)
     2a4:      	li	a0, 0x4
     2a8:      	j	0x44c <.Lline_table_start0+0x3de>
     2ac:      	lbu	a2, 0x0(a1)
     2b0:      	li	a3, 0x40
     2b4:      	bne	a2, a3, 0x2e0 <.Lline_table_start0+0x272>
     2b8:      	lbu	a2, 0x2(a1)
     2bc:      	li	a3, 0xf
     2c0:      	li	a0, 0x2
     2c4:      	bltu	a3, a2, 0x2e0 <.Lline_table_start0+0x272>
     2c8:      	lbu	a1, 0x1(a1)
     2cc:      	or	a1, a2, a1
     2d0:      	zext.b	a1, a1
     2d4:      	beqz	a1, 0x2e0 <.Lline_table_start0+0x272>
     2d8:      	li	a0, 0x82
     2dc:      	j	0x44c <.Lline_table_start0+0x3de>
     2e0:      	lui	a1, 0x20001
     2e4:      	lw	a2, 0x8(a1)
     2e8:      	addi	a2, a2, 0x1
     2ec:      	sw	a2, 0x8(a1)
     2f0:      	li	a1, 0xee
     2f4:      	sw	a1, 0x8(s0)
     2f8:      	j	0x44c <.Lline_table_start0+0x3de>
     2fc:      	li	a0, 0x12
     300:      	bgeu	a0, a2, 0x434 <.Lline_table_start0+0x3c6>
     304:      	lbu	a0, 0x2(a1)
     308:      	li	a2, 0x10
     30c:      	bne	a0, a2, 0x434 <.Lline_table_start0+0x3c6>
     310:      	addi	a1, a1, 0x3
     314:      	addi	a0, s1, 0xc
     318:      	li	a2, 0x10
     31c:      	auipc	ra, 0x0
     320:      	jalr	0x2f8(ra) <.Lline_table_start0+0x5a6>
     324:      	li	a1, 0x83
     328:      	lui	a0, 0x1
     32c:      	addi	a0, a0, -0x7d0
     330:      	sw	a1, 0x8(s0)
     334:      	lbu	a1, 0xc(s1)
     338:      	lbu	a2, 0xd(s1)
     33c:      	lbu	a3, 0xe(s1)
     340:      	lbu	a4, 0xf(s1)
     344:      	add	a1, a0, a1
     348:      	lbu	a1, 0x0(a1)
     34c:      	xor	a1, a2, a1
     350:      	add	a1, a0, a1
     354:      	lbu	a1, 0x0(a1)
     358:      	xor	a1, a3, a1
     35c:      	add	a1, a0, a1
     360:      	lbu	a1, 0x0(a1)
     364:      	xor	a1, a4, a1
     368:      	add	a1, a0, a1
     36c:      	lbu	a1, 0x0(a1)
     370:      	lbu	a2, 0x10(s1)
     374:      	lbu	a3, 0x11(s1)
     378:      	lbu	a4, 0x12(s1)
     37c:      	lbu	a5, 0x13(s1)
     380:      	xor	a1, a2, a1
     384:      	add	a1, a0, a1
     388:      	lbu	a1, 0x0(a1)
     38c:      	xor	a1, a3, a1
     390:      	add	a1, a0, a1
     394:      	lbu	a1, 0x0(a1)
     398:      	xor	a1, a4, a1
     39c:      	add	a1, a0, a1
     3a0:      	lbu	a1, 0x0(a1)
     3a4:      	xor	a1, a5, a1
     3a8:      	add	a1, a0, a1
     3ac:      	lbu	a1, 0x0(a1)
     3b0:      	lbu	a2, 0x14(s1)
     3b4:      	lbu	a3, 0x15(s1)
     3b8:      	lbu	a4, 0x16(s1)
     3bc:      	lbu	a5, 0x17(s1)
     3c0:      	xor	a1, a2, a1
     3c4:      	add	a1, a0, a1
     3c8:      	lbu	a1, 0x0(a1)
     3cc:      	xor	a1, a3, a1
     3d0:      	add	a1, a0, a1
     3d4:      	lbu	a1, 0x0(a1)
     3d8:      	xor	a1, a4, a1
     3dc:      	add	a1, a0, a1
     3e0:      	lbu	a1, 0x0(a1)
     3e4:      	xor	a1, a5, a1
     3e8:      	add	a1, a0, a1
     3ec:      	lbu	a1, 0x0(a1)
     3f0:      	lbu	a2, 0x18(s1)
     3f4:      	lbu	a3, 0x19(s1)
     3f8:      	lbu	a4, 0x1a(s1)
     3fc:      	lbu	a5, 0x1b(s1)
     400:      	xor	a1, a2, a1
     404:      	add	a1, a0, a1
     408:      	lbu	a1, 0x0(a1)
     40c:      	xor	a1, a3, a1
     410:      	add	a1, a0, a1
     414:      	lbu	a1, 0x0(a1)
     418:      	xor	a1, a4, a1
     41c:      	add	a1, a0, a1
     420:      	lbu	a1, 0x0(a1)
     424:      	xor	a1, a5, a1
     428:      	add	a0, a0, a1
     42c:      	lbu	a0, 0x0(a0)
     430:      	j	0x44c <.Lline_table_start0+0x3de>
     434:      	lw	a0, 0x4(s1)
     438:      	addi	a0, a0, 0x1
     43c:      	sw	a0, 0x4(s1)
     440:      	li	a0, 0xee
     444:      	sw	a0, 0x8(s0)
     448:      	li	a0, 0x6
     44c:      	sw	a0, 0x8(s0)
     450:      	lw	ra, 0xc(sp)
     454:      	lw	s0, 0x8(sp)
     458:      	lw	s1, 0x4(sp)
     45c:      	addi	sp, sp, 0x10
     460:      	ret
     464:      	lbu	a3, 0x2(a1)
     468:      	addi	a2, a2, -0x3
     46c:      	bltu	a3, a2, 0x474 <.Lline_table_start0+0x406>
     470:      	mv	a3, a2
     474:      	li	a0, 0x40
     478:      	bltu	a3, a0, 0x480 <.Lline_table_start0+0x412>
     47c:      	li	a3, 0x40
     480:      	addi	a1, a1, 0x3
     484:      	lui	a0, 0x20008
     488:      	addi	a0, a0, -0x40
     48c:      	mv	a2, a3
     490:      	auipc	ra, 0x0
     494:      	jalr	0x184(ra) <.Lline_table_start0+0x5a6>
     498:      	li	a0, 0x83
     49c:      	j	0x44c <.Lline_table_start0+0x3de>
     4a0:      	lw	a0, 0x4(s1)
     4a4:      	addi	a0, a0, 0x1
     4a8:      	sw	a0, 0x4(s1)
     4ac:      	li	a0, 0xee
     4b0:      	sw	a0, 0x8(s0)
     4b4:      	li	a0, 0x5
     4b8:      	j	0x44c <.Lline_table_start0+0x3de>

000004bc <main>:
     4bc:      	addi	sp, sp, -0x30
     4c0:      	sw	ra, 0x2c(sp)
     4c4:      	sw	s0, 0x28(sp)
     4c8:      	sw	s1, 0x24(sp)
     4cc:      	sw	s2, 0x20(sp)
     4d0:      	sw	s3, 0x1c(sp)
     4d4:      	sw	s4, 0x18(sp)
     4d8:      	sw	s5, 0x14(sp)
     4dc:      	sw	s6, 0x10(sp)
     4e0:      	sw	s7, 0xc(sp)
     4e4:      	sw	s8, 0x8(sp)
     4e8:      	lui	s1, 0x40011
     4ec:      	lui	a0, 0x20001
     4f0:      	li	a1, 0x62
     4f4:      	li	a2, 0x6f
     4f8:      	li	a3, 0x74
     4fc:      	lw	a4, 0x0(a0)
     500:      	li	a5, 0xa
     504:      	lui	s2, 0x20001
     508:      	addi	s2, s2, 0x4
     50c:      	li	s3, 0x1
     510:      	addi	a4, a4, 0x1
     514:      	sw	a4, 0x0(a0)
     518:      	li	s4, 0xa5
     51c:      	li	s5, 0x5
     520:      	sw	a1, 0x8(s1)
     524:      	li	s6, 0x2
     528:      	sw	a2, 0x8(s1)
     52c:      	sw	a2, 0x8(s1)
     530:      	li	s7, 0xee
     534:      	sw	a3, 0x8(s1)
     538:      	li	s8, 0x3
     53c:      	sw	a5, 0x8(s1)
     540:      	addi	s0, s2, 0x20
     544:      	j	0x54c <.Lline_table_start0+0x4de>
     548:      	wfi
     54c:      	lw	a0, 0x0(s1)
     550:      	andi	a0, a0, 0x1
     554:      	beqz	a0, 0x548 <.Lline_table_start0+0x4da>
     558:      	lw	a0, 0x4(s1)
     55c:      	lbu	a1, 0x1c(s2)
     560:      	zext.b	a0, a0
     564:      	blt	s3, a1, 0x578 <.Lline_table_start0+0x50a>
     568:      	bnez	a1, 0x590 <.Lline_table_start0+0x522>
     56c:      	bne	a0, s4, 0x54c <.Lline_table_start0+0x4de>
     570:      	sb	s3, 0x1c(s2)
     574:      	j	0x54c <.Lline_table_start0+0x4de>
     578:      	bne	a1, s6, 0x5a4 <.Lline_table_start0+0x536>
     57c:      	sb	a0, 0x1e(s2)
     580:      	sb	zero, 0x1f(s2)
     584:      	beqz	a0, 0x5f8 <.Lline_table_start0+0x58a>
     588:      	sb	s8, 0x1c(s2)
     58c:      	j	0x54c <.Lline_table_start0+0x4de>
     590:      	addi	a1, a0, -0x1
     594:      	bgeu	a1, s5, 0x5dc <.Lline_table_start0+0x56e>
     598:      	sb	s6, 0x1c(s2)
     59c:      	sb	a0, 0x1d(s2)
     5a0:      	j	0x54c <.Lline_table_start0+0x4de>
     5a4:      	lbu	a1, 0x1f(s2)
     5a8:      	lbu	a3, 0x1e(s2)
     5ac:      	add	a4, s2, a1
     5b0:      	addi	a1, a1, 0x1
     5b4:      	zext.b	a2, a1
     5b8:      	sb	a1, 0x1f(s2)
     5bc:      	sb	a0, 0x20(a4)
     5c0:      	bne	a2, a3, 0x54c <.Lline_table_start0+0x4de>
     5c4:      	lbu	a0, 0x1d(s2)
     5c8:      	sb	zero, 0x1c(s2)
     5cc:      	mv	a1, s0
     5d0:      	auipc	ra, 0x0
     5d4:      	jalr	-0x56c(ra) <.Lline_table_start0+0x64>
     5d8:      	j	0x54c <.Lline_table_start0+0x4de>
     5dc:      	lw	a0, 0x4(s2)
     5e0:      	addi	a0, a0, 0x1
     5e4:      	sw	a0, 0x4(s2)
     5e8:      	sw	s7, 0x8(s1)
     5ec:      	sw	zero, 0x8(s1)
     5f0:      	sb	zero, 0x1c(s2)
     5f4:      	j	0x54c <.Lline_table_start0+0x4de>
     5f8:      	lbu	a0, 0x1d(s2)
     5fc:      	sb	zero, 0x1c(s2)
     600:      	li	a1, 0x1
     604:      	li	a2, 0x0
     608:      	auipc	ra, 0x0
     60c:      	jalr	-0x5a4(ra) <.Lline_table_start0+0x64>
     610:      	j	0x54c <.Lline_table_start0+0x4de>

00000614 <memcpy>:
     614:      	auipc	t1, 0x0
     618:      	jr	0x8(t1) <.Lline_table_start0+0x5ae>

0000061c <_RNvNtCsek2U9quteHC_17compiler_builtins3mem6memcpy>:
     61c:      	addi	sp, sp, -0x10
     620:      	li	a3, 0x10
     624:      	bltu	a2, a3, 0x6a4 <.Lline_table_start0+0x636>
     628:      	neg	a3, a0
     62c:      	andi	a3, a3, 0x3
     630:      	add	a4, a0, a3
     634:      	bgeu	a0, a4, 0x65c <.Lline_table_start0+0x5ee>
     638:      	mv	a5, a3
     63c:      	mv	a6, a0
     640:      	mv	a7, a1
     644:      	lbu	t0, 0x0(a7)
     648:      	addi	a5, a5, -0x1
     64c:      	sb	t0, 0x0(a6)
     650:      	addi	a6, a6, 0x1
     654:      	addi	a7, a7, 0x1
     658:      	bnez	a5, 0x644 <.Lline_table_start0+0x5d6>
     65c:      	add	a1, a1, a3
     660:      	sub	a2, a2, a3
     664:      	andi	a5, a2, -0x4
     668:      	andi	t0, a1, 0x3
     66c:      	add	a3, a4, a5
     670:      	bnez	t0, 0x6d0 <.Lline_table_start0+0x662>
     674:      	bgeu	a4, a3, 0x690 <.Lline_table_start0+0x622>
     678:      	mv	a6, a1
     67c:      	lw	a7, 0x0(a6)
     680:      	sw	a7, 0x0(a4)
     684:      	addi	a4, a4, 0x4
     688:      	addi	a6, a6, 0x4
     68c:      	bltu	a4, a3, 0x67c <.Lline_table_start0+0x60e>
     690:      	add	a1, a1, a5
     694:      	andi	a2, a2, 0x3
     698:      	add	a4, a3, a2
     69c:      	bltu	a3, a4, 0x6b0 <.Lline_table_start0+0x642>
     6a0:      	j	0x6c8 <.Lline_table_start0+0x65a>
     6a4:      	mv	a3, a0
     6a8:      	add	a4, a0, a2
     6ac:      	bgeu	a0, a4, 0x6c8 <.Lline_table_start0+0x65a>
     6b0:      	lbu	a4, 0x0(a1)
     6b4:      	addi	a2, a2, -0x1
     6b8:      	sb	a4, 0x0(a3)
     6bc:      	addi	a3, a3, 0x1
     6c0:      	addi	a1, a1, 0x1
     6c4:      	bnez	a2, 0x6b0 <.Lline_table_start0+0x642>
     6c8:      	addi	sp, sp, 0x10
     6cc:      	ret
     6d0:      	li	a6, 0x0
     6d4:      	li	a7, 0x4
     6d8:      	sw	zero, 0xc(sp)
     6dc:      	sub	t1, a7, t0
     6e0:      	addi	a7, sp, 0xc
     6e4:      	andi	t2, t1, 0x1
     6e8:      	or	a7, a7, t0
     6ec:      	bnez	t2, 0x710 <.Lline_table_start0+0x6a2>
     6f0:      	andi	t1, t1, 0x2
     6f4:      	bnez	t1, 0x724 <.Lline_table_start0+0x6b6>
     6f8:      	lw	a7, 0xc(sp)
     6fc:      	slli	a6, t0, 0x3
     700:      	addi	t2, a4, 0x4
     704:      	sub	t1, a1, t0
     708:      	bltu	t2, a3, 0x748 <.Lline_table_start0+0x6da>
     70c:      	j	0x778 <.Lline_table_start0+0x70a>
     710:      	lbu	a6, 0x0(a1)
     714:      	sb	a6, 0x0(a7)
     718:      	li	a6, 0x1
     71c:      	andi	t1, t1, 0x2
     720:      	beqz	t1, 0x6f8 <.Lline_table_start0+0x68a>
     724:      	add	t1, a1, a6
     728:      	lh	t1, 0x0(t1)
     72c:      	add	a6, a7, a6
     730:      	sh	t1, 0x0(a6)
     734:      	lw	a7, 0xc(sp)
     738:      	slli	a6, t0, 0x3
     73c:      	addi	t2, a4, 0x4
     740:      	sub	t1, a1, t0
     744:      	bgeu	t2, a3, 0x778 <.Lline_table_start0+0x70a>
     748:      	neg	t2, a6
     74c:      	andi	t2, t2, 0x18
     750:      	mv	t3, a7
     754:      	lw	a7, 0x4(t1)
     758:      	srl	t3, t3, a6
     75c:      	addi	t1, t1, 0x4
     760:      	sll	t4, a7, t2
     764:      	or	t3, t4, t3
     768:      	addi	t4, a4, 0x8
     76c:      	sw	t3, 0x0(a4)
     770:      	addi	a4, a4, 0x4
     774:      	bltu	t4, a3, 0x750 <.Lline_table_start0+0x6e2>
     778:      	sb	zero, 0x8(sp)
     77c:      	li	t2, 0x1
     780:      	sb	zero, 0x6(sp)
     784:      	bne	t0, t2, 0x79c <.Lline_table_start0+0x72e>
     788:      	li	t0, 0x0
     78c:      	li	t2, 0x0
     790:      	li	t3, 0x0
     794:      	addi	t4, sp, 0x8
     798:      	j	0x7b4 <.Lline_table_start0+0x746>
     79c:      	lbu	t0, 0x4(t1)
     7a0:      	lbu	t2, 0x5(t1)
     7a4:      	li	t3, 0x2
     7a8:      	sb	t0, 0x8(sp)
     7ac:      	slli	t2, t2, 0x8
     7b0:      	addi	t4, sp, 0x6
     7b4:      	andi	t5, a1, 0x1
     7b8:      	bnez	t5, 0x7c4 <.Lline_table_start0+0x756>
     7bc:      	li	t1, 0x0
     7c0:      	j	0x7dc <.Lline_table_start0+0x76e>
     7c4:      	add	t1, t1, t3
     7c8:      	lbu	t0, 0x4(t1)
     7cc:      	sb	t0, 0x0(t4)
     7d0:      	lbu	t1, 0x6(sp)
     7d4:      	lbu	t0, 0x8(sp)
     7d8:      	slli	t1, t1, 0x10
     7dc:      	or	t1, t2, t1
     7e0:      	srl	a7, a7, a6
     7e4:      	neg	a6, a6
     7e8:      	or	t0, t1, t0
     7ec:      	andi	a6, a6, 0x18
     7f0:      	sll	a6, t0, a6
     7f4:      	or	a6, a6, a7
     7f8:      	sw	a6, 0x0(a4)
     7fc:      	add	a1, a1, a5
     800:      	andi	a2, a2, 0x3
     804:      	add	a4, a3, a2
     808:      	bltu	a3, a4, 0x6b0 <.Lline_table_start0+0x642>
     80c:      	j	0x6c8 <.Lline_table_start0+0x65a>

# Sums the bytes of a packet: r1 = packet, r2 = its length; r0 = the sum.
        mov %r0, 0
loop:
        jeq %r2, 0, done
        ldxb %r3, [%r1]
        add %r0, %r3
        add %r1, 1
        sub %r2, 1
        ja loop
done:
        exit

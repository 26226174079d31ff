import { describe, expect, it } from 'vitest';
import { barChartSvg, escapeXml, formatTick, lineChartSvg, niceTicks } from '../../src/io/plot.ts';

/**
 * DOM-free well-formedness check: one root <svg>, every tag closed in order, attributes quoted, no stray
 * '<' or unescaped '&' in text. Returns the element names seen.
 */
function checkXml(svg: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  let roots = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const text = svg.slice(i, lt === -1 ? svg.length : lt);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(text)) throw new Error(`unescaped & in text: ${text}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    if (!m) throw new Error(`malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`);
    const [, close, name, attrs, selfClose] = m;
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(attrs)) throw new Error(`unescaped & in attributes of <${name}>`);
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) roots++;
      seen.push(name);
      if (!selfClose) stack.push(name);
    }
    i = tag.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return seen;
}

describe('lineChartSvg', () => {
  const loss = Array.from({ length: 50 }, (_, i) => [i * 10, Math.exp(-i / 10) + 0.1] as [number, number]);
  const val = Array.from({ length: 10 }, (_, i) => [i * 50, Math.exp(-i / 2) + 0.2] as [number, number]);

  it('is well-formed SVG with axes, ticks, labels, legend and the series names', () => {
    const svg = lineChartSvg(
      [
        { name: 'train loss', points: loss },
        { name: 'val <dice> & co', points: val },
      ],
      { title: 'SegAN "loss"', xLabel: 'step', yLabel: 'loss' },
    );
    const elements = checkXml(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="360"')).toBe(true);
    expect(svg).toContain('>train loss</text>');
    expect(svg).toContain('>val &lt;dice&gt; &amp; co</text>');
    expect(svg).toContain('>SegAN &quot;loss&quot;</text>');
    expect(svg).toContain('>step</text>');
    expect(svg).toContain('>loss</text>');
    expect(elements.filter((e) => e === 'path').length).toBe(2);
    // Two distinct colours.
    const strokes = [...svg.matchAll(/<path [^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    expect(new Set(strokes).size).toBe(2);
    // x ticks at round values covering 0..490.
    expect(svg).toContain('>0</text>');
    expect(svg).toMatch(/>(400|500)<\/text>/);
  });

  it('copes with NaN, a single point, empty series and a log axis', () => {
    const svg = lineChartSvg(
      [
        {
          name: 'gappy',
          points: [
            [0, 1],
            [1, NaN],
            [2, 3],
            [3, 4],
          ],
        },
        { name: 'single', points: [[5, 2]] },
        { name: 'empty', points: [] },
      ],
      { width: 400, height: 200 },
    );
    checkXml(svg);
    expect(svg).toMatch(/d="M[\d. ]+M[\d. ]+L[\d. ]+"/); // the NaN breaks the first line
    expect(svg).toContain('>empty</text>');
    const none = lineChartSvg([], { title: 'nothing' });
    checkXml(none);
    expect(none).toContain('no data');
    const log = lineChartSvg(
      [
        {
          name: 'loss',
          points: [
            [0, 10],
            [1, 1],
            [2, 0.01],
            [3, 0],
            [4, -1],
          ],
        },
      ],
      { logY: true },
    );
    checkXml(log);
    expect(log).toContain('>0.01</text>');
    expect(log).toContain('>10</text>');
    expect(log).not.toContain('NaN');
    expect(log).not.toContain('Infinity');
    expect(() => lineChartSvg([], { width: 10 })).toThrow(/chart size/);
  });
});

describe('barChartSvg', () => {
  const groups = [
    {
      label: 'matmul 1024',
      values: [
        { name: 'dawngrad', value: 1.2 },
        { name: 'tfjs', value: 2.5 },
      ],
    },
    {
      label: 'conv',
      values: [
        { name: 'tfjs', value: 0.9 },
        { name: 'jax-js', value: 40 },
      ],
    },
  ];

  it('is well-formed with a legend of all value names and one rect per value', () => {
    const svg = barChartSvg(groups, { title: 'Kernels', yLabel: 'ms' });
    const elements = checkXml(svg);
    for (const s of ['dawngrad', 'tfjs', 'jax-js', 'matmul 1024', 'conv', 'Kernels', 'ms'])
      expect(svg).toContain(`>${s}</text>`);
    // background + 4 bars + 3 legend boxes
    expect(elements.filter((e) => e === 'rect').length).toBe(1 + 4 + 3);
    // The same name keeps its colour across groups.
    const fills = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"><title>tfjs:/g)].map((m) => m[1]);
    expect(fills.length).toBe(2);
    expect(fills[0]).toBe(fills[1]);
  });

  it('log scale, value labels, negatives, rotated long labels', () => {
    const log = barChartSvg(groups, { log: true, showValues: true });
    checkXml(log);
    expect(log).toContain('>100</text>');
    expect(log).toContain('>0.1</text>');
    expect(log).toContain('>40</text>');
    const neg = barChartSvg([
      {
        label: 'delta',
        values: [
          { name: 'a', value: -3 },
          { name: 'b', value: 2 },
        ],
      },
    ]);
    checkXml(neg);
    expect(neg).toContain('>-3</text>'); // a tick below zero
    const many = Array.from({ length: 12 }, (_, i) => ({
      label: `a rather long group label ${i}`,
      values: [{ name: 'x', value: i + 1 }],
    }));
    const rotated = barChartSvg(many);
    checkXml(rotated);
    expect(rotated).toContain('rotate(-35');
    checkXml(barChartSvg([], {}));
  });
});

describe('helpers', () => {
  it('niceTicks, formatTick, escapeXml', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 490, 5)).toEqual([0, 100, 200, 300, 400]);
    expect(niceTicks(0.3, 0.3)).toEqual([0.3]);
    expect(formatTick(0.30000000000000004)).toBe('0.3');
    expect(formatTick(2.5e-5)).toBe('2.5e-5');
    expect(formatTick(1e7)).toBe('1e7');
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});

// A command line written as one line of text: argv`train --data ${data} --runs ${runs}` is
// ['train', '--data', data, '--runs', runs]. The literal text splits on white space; each interpolated
// value stays one argument (spaces and all), and an interpolated array adds its elements in order.
export function argv(text: TemplateStringsArray, ...values: (string | number | readonly string[])[]): string[] {
  const args: string[] = [];
  text.forEach((piece, i) => {
    args.push(...piece.split(/\s+/).filter((word) => word !== ''));
    if (i < values.length) {
      const value = values[i];
      if (typeof value === 'object') args.push(...value);
      else args.push(String(value));
    }
  });
  return args;
}

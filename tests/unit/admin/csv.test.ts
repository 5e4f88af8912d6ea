import { csvCell, csvLine } from '../../../src/admin/csv';

describe('CSV cells', () => {
  test.each([
    ['plain', 'plain'],
    ['示例小店-茉莉花茶', '示例小店-茉莉花茶'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rlf', '"cr\rlf"'],
    [' padded ', '" padded "'],
    ['', ''],
    ['12.34', '12.34'],
  ])('%j is written %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  test.each([
    ['=SUM(A1:A9)', "'=SUM(A1:A9)"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@cmd', "'@cmd"],
    ['\tTAB', "'\tTAB"],
    ['=HYPERLINK("x","y")', '"\'=HYPERLINK(""x"",""y"")"'],
  ])('a formula-like text %j is neutralised as %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  test.each([
    ['202612080257211234567890', '="202612080257211234567890"'],
    ['4200000000202612080000000001', '="4200000000202612080000000001"'],
    ['773012345678901', '="773012345678901"'],
    // short enough for Excel to show whole: a mobile number, an order number
    ['13800138000', '13800138000'],
    ['SF1234567890123', 'SF1234567890123'],
  ])('a long number %j stays text in Excel as %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  test('numbers, null and undefined', () => {
    expect(csvCell(42)).toBe('42');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });

  test('a line ends with CRLF', () => {
    expect(csvLine(['a', 'b,c', 3, null])).toBe('a,"b,c",3,\r\n');
  });
});

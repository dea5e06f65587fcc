import KioskCore

enum NIKCommands {
    struct Output: Encodable {
        var valid: Bool
        var nikMasked: String
        var birthDate: CivilDate
        var sex: NIK.Sex
        var provinceCode: String
        var provinceName: String
        var regencyCode: String
        var districtCode: String
        var serial: String

        enum CodingKeys: String, CodingKey {
            case valid, sex, serial
            case nikMasked = "nik_masked"
            case birthDate = "birth_date"
            case provinceCode = "province_code"
            case provinceName = "province_name"
            case regencyCode = "regency_code"
            case districtCode = "district_code"
        }
    }

    static func check(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["today"], flags: ["json"])
        let text = try args.positional(0, "NIK")
        try args.noExtraPositionals(after: 1)
        let today = try args.value("today").map { (t: String) throws(CLIError) in try CivilDate.parse(t, option: "today") }
            ?? context.today
        let nik: NIK
        do {
            nik = try NIK(text, today: today)
        } catch {
            throw CLIError(data: error.message, code: error.code, field: "nik")
        }
        let out = Output(
            valid: true, nikMasked: nik.masked, birthDate: nik.birthDate, sex: nik.sex, provinceCode: nik.provinceCode,
            provinceName: nik.province.name, regencyCode: nik.regencyCode, districtCode: nik.districtCode,
            serial: String(nik.digits.suffix(4)))
        if args.has("json") {
            try context.printJSON(out)
            return
        }
        context.print("NIK \(nik.masked): sah / valid")
        context.print("  Tanggal lahir / Birth date:  \(nik.birthDate)")
        context.print("  Jenis kelamin / Sex:         \(nik.sex.label.bilingual)")
        context.print("  Provinsi / Province:         \(nik.provinceCode) \(nik.province.name)")
        context.print("  Kabupaten/Kota / Regency:    \(nik.regencyCode)")
        context.print("  Kecamatan / District:        \(nik.districtCode)")
    }
}
